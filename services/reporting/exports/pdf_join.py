"""Join PDF files into one, writing each part's objects out as soon as they are read, so
joining costs the memory of one part, not of the whole file.

reportlab keeps every finished page of a document until it is saved, so a long report is
laid out as several short documents (:func:`services.reporting.exports.pdf.render`) joined
here. pypdf's ``PdfWriter`` would hold every page it is given until it writes; this joiner
keeps only each object's offset and the pages' object numbers (a few bytes a page). Each
part keeps its own objects (its font subsets included); subset tags are made unique per
part, so two parts' different subsets of one font never share a name."""
import re

from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject, DictionaryObject, IndirectObject, NameObject, StreamObject,
)

HEADER = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
SUBSET_TAG = re.compile(r"^/([A-Z]{6})\+")
TAGGED_KEYS = ("/BaseFont", "/FontName")
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _part_tag(part: int, tag: str) -> str:
    """A subset tag unique to ``part``: its first three letters name the part (reportlab
    numbers a document's subsets in the last three)."""
    letters = ""
    for _ in range(3):
        part, digit = divmod(part, len(LETTERS))
        letters = LETTERS[digit] + letters
    return letters + tag[3:]


class PdfJoiner:
    """Appends the pages of PDF files to ``out`` one file at a time; :meth:`close` writes
    the page tree, catalogue and cross-reference table."""

    def __init__(self, out):
        self.out = out
        self.written = 0
        self.offsets = [0]        # byte offset of each object, by number (0 is unused)
        self.pages = []           # object numbers of the pages, in order
        self.parts = 0
        self.info = DictionaryObject()  # the first part's document information
        self.root = self._reserve()
        self.write(HEADER)

    def write(self, data: bytes) -> None:
        """Write to ``out``, counting the offset (``out`` need not tell its position)."""
        self.out.write(data)
        self.written += len(data)

    def _reserve(self) -> int:
        self.offsets.append(None)
        return len(self.offsets) - 1

    def _write_object(self, number: int, obj) -> None:
        self.offsets[number] = self.written
        self.write(f"{number} 0 obj\n".encode())
        obj.write_to_stream(self)  # pypdf's objects write to anything with ``write``
        self.write(b"\nendobj\n")

    def append(self, source) -> None:
        """Copy every page of ``source`` (a path or binary file) and what its pages use."""
        reader = PdfReader(source)
        numbers, pending = {}, []
        tree = {node.idnum for node in _page_tree_nodes(reader)}

        def ref(indirect: IndirectObject) -> IndirectObject:
            if indirect.idnum in tree:
                return IndirectObject(self.root, 0, None)
            if indirect.idnum not in numbers:
                numbers[indirect.idnum] = self._reserve()
                pending.append(indirect)
            return IndirectObject(numbers[indirect.idnum], 0, None)

        def copy(obj, key=None):
            if isinstance(obj, IndirectObject):
                return ref(obj)
            if isinstance(obj, StreamObject):
                copied = StreamObject()
                copied._data = obj._data  # still encoded: its /Filter is copied with it
                copied.update({name: copy(value, name) for name, value in obj.items()
                               if name != "/Length"})
                return copied
            if isinstance(obj, DictionaryObject):
                return DictionaryObject({name: copy(value, name) for name, value in obj.items()})
            if isinstance(obj, ArrayObject):
                return ArrayObject(copy(value) for value in obj)
            if key in TAGGED_KEYS and isinstance(obj, NameObject):
                tagged = SUBSET_TAG.match(obj)
                if tagged:
                    return NameObject("/" + _part_tag(self.parts, tagged.group(1)) + obj[7:])
            return obj

        if self.parts == 0 and "/Info" in reader.trailer:
            self.info = copy(reader.trailer["/Info"].get_object())
        for page in reader.pages:
            self.pages.append(ref(page.indirect_reference).idnum)
        while pending:
            indirect = pending.pop()
            self._write_object(numbers[indirect.idnum], copy(indirect.get_object()))
        self.parts += 1

    def close(self) -> None:
        kids = " ".join(f"{number} 0 R" for number in self.pages)
        self.offsets[self.root] = self.written
        self.write(f"{self.root} 0 obj\n<< /Type /Pages /Count {len(self.pages)} "
                    f"/Kids [ {kids} ] >>\nendobj\n".encode())
        catalog, info = self._reserve(), self._reserve()
        self.offsets[catalog] = self.written
        self.write(f"{catalog} 0 obj\n<< /Type /Catalog /Pages {self.root} 0 R >>\n"
                    f"endobj\n".encode())
        self._write_object(info, self.info)
        xref = self.written
        lines = [f"xref\n0 {len(self.offsets)}\n0000000000 65535 f \n"]
        lines += [f"{offset:010d} 00000 n \n" for offset in self.offsets[1:]]
        self.write("".join(lines).encode())
        self.write(f"trailer\n<< /Size {len(self.offsets)} /Root {catalog} 0 R "
                    f"/Info {info} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())


def _page_tree_nodes(reader: PdfReader):
    """The /Pages nodes of ``reader``'s page tree (they are replaced by the joined file's)."""
    nodes = [reader.trailer["/Root"].raw_get("/Pages")]
    while nodes:
        node = nodes.pop()
        yield node
        for kid in node.get_object().get("/Kids", []):
            if kid.get_object().get("/Type") == "/Pages":
                nodes.append(kid)

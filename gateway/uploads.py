"""Receiving an upload (``multipart/form-data`` with a ``file`` and an optional ``note``) as
it streams in: the parts are decoded chunk by chunk, the file's first bytes decide its type
(:mod:`gateway.sniffing`), and its bytes are counted, hashed with sha256 and written to the
attachment store as they arrive. Nothing holds more than a chunk in memory; a file past
``ATTACHMENT_MAX_BYTES`` is refused with 413 the moment it passes the limit, and a refused
type with 415 after its first bytes, without reading the rest."""
import hashlib
import re
import unicodedata
from dataclasses import dataclass

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import NEED_DATA, Data, Epilogue, Field, File, MultipartDecoder

from gateway import sniffing
from services.common.errors import (
    BadRequest, PayloadTooLarge, UnsupportedMediaType, ValidationFailed,
)

READ_CHUNK = 64 * 1024
NOTE_MAX_CHARS = 2000
FILE_NAME_MAX_CHARS = 255
# Everything but the file: the part headers, the note, fields we ignore.
FORM_OVERHEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class Upload:
    sha256: str
    size: int
    content_type: str
    file_name: str
    note: str | None
    new: bool  # False when the store held the same bytes already

    def metadata(self) -> dict:
        """What the owning service records (the bytes stay in the store)."""
        return {"sha256": self.sha256, "size": self.size, "content_type": self.content_type,
                "file_name": self.file_name, "note": self.note}

    def fingerprint(self) -> bytes:
        """What makes two uploads the same request for ``Idempotency-Key``: the file's
        contents, name and note (not the multipart boundary, which differs per retry)."""
        return "\n".join([self.sha256, self.file_name, self.note or ""]).encode()


def body_limit(max_bytes: int) -> int:
    """The largest request body an upload of at most ``max_bytes`` can need."""
    return max_bytes + FORM_OVERHEAD_BYTES


def receive(stream, content_type: str, store, max_bytes: int) -> Upload:
    """Read the multipart body from ``stream`` into ``store``; raises 400/413/415/422."""
    mimetype, options = parse_options_header(content_type or "")
    boundary = options.get("boundary", "")
    if mimetype != "multipart/form-data" or not boundary:
        raise UnsupportedMediaType(
            "Send the file as multipart/form-data with a part named 'file' (and optionally "
            "'note').", {"expected": "multipart/form-data", "received": mimetype or None})
    receiver = _Receiver(store, max_bytes)
    try:
        decoder = MultipartDecoder(boundary.encode("latin-1"),
                                   max_form_memory_size=READ_CHUNK + FORM_OVERHEAD_BYTES)
        while True:
            chunk = stream.read(READ_CHUNK)
            decoder.receive_data(chunk or None)
            event = decoder.next_event()
            while event is not NEED_DATA:
                receiver.take(event)
                if isinstance(event, Epilogue):
                    return receiver.finish()
                event = decoder.next_event()
            if not chunk:
                raise BadRequest("The multipart body ended before its closing boundary.")
    except RequestEntityTooLarge:
        # the body as a whole passed the endpoint's limit, or one part's headers did
        receiver.abort()
        raise PayloadTooLarge(f"The body is larger than a file of {max_bytes} bytes needs.",
                              {"max_bytes": max_bytes}) from None
    except (ValueError, UnicodeDecodeError):
        receiver.abort()
        raise BadRequest("The multipart body is malformed.") from None
    except BaseException:
        receiver.abort()
        raise


class _Receiver:
    """The state of one upload while its parts arrive."""

    def __init__(self, store, max_bytes: int):
        self.store = store
        self.max_bytes = max_bytes
        self.part = None  # "file", "note" or None (a part we skip)
        self.file_name = None
        self.note = bytearray()
        self.other_bytes = 0
        self.head = bytearray()
        self.content_type = None
        self.size = 0
        self.digest = hashlib.sha256()
        self.writer = None

    def take(self, event) -> None:
        if isinstance(event, File) and event.name == "file":
            if self.file_name is not None:
                raise BadRequest("Send one file per request.")
            self.part, self.file_name = "file", clean_file_name(event.filename)
        elif isinstance(event, (File, Field)):
            self.part = "note" if event.name == "note" else None
        elif isinstance(event, Data):
            self._data(event.data, more=event.more_data)

    def _data(self, data: bytes, more: bool) -> None:
        if self.part != "file":
            self.other_bytes += len(data)
            if self.other_bytes > FORM_OVERHEAD_BYTES:
                raise PayloadTooLarge("The form fields besides the file are too large.",
                                      {"max_bytes": FORM_OVERHEAD_BYTES})
            if self.part == "note":
                self.note += data
            return
        self.size += len(data)
        if self.size > self.max_bytes:
            raise PayloadTooLarge(f"The file is larger than {self.max_bytes} bytes.",
                                  {"max_bytes": self.max_bytes})
        if self.content_type is None:
            self.head += data
            if (len(self.head) < sniffing.HEAD_BYTES and more) or not self.head:
                return  # more to come, or an empty file (refused by finish)
            self.content_type = sniffing.content_type(bytes(self.head[:sniffing.HEAD_BYTES]),
                                                      complete=not more)
            data, self.head = bytes(self.head), None
        if self.writer is None:
            self.writer = self.store.writer()
        self.digest.update(data)
        self.writer.write(data)

    def finish(self) -> Upload:
        if self.file_name is None:
            raise ValidationFailed("Some fields are invalid.",
                                   {"fields": {"file": ["Required: a part named 'file'."]}})
        if self.size == 0:
            raise ValidationFailed("Some fields are invalid.",
                                   {"fields": {"file": ["The file is empty."]}})
        note = clean_note(bytes(self.note))
        sha256 = self.digest.hexdigest()
        new = self.writer.commit(sha256)
        self.writer = None
        return Upload(sha256, self.size, self.content_type, self.file_name, note, new)

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()
            self.writer = None


def clean_file_name(given: str | None) -> str:
    """The file's own name (no folders), as sent; 422 when there is none."""
    name = re.split(r"[/\\]", given or "")[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name)
                   if unicodedata.category(ch)[0] != "C").strip()
    if not name or name in (".", ".."):
        raise ValidationFailed("Some fields are invalid.",
                               {"fields": {"file": ["The file part needs a filename."]}})
    if len(name) > FILE_NAME_MAX_CHARS:
        raise ValidationFailed("Some fields are invalid.", {"fields": {"file": [
            f"The file name is longer than {FILE_NAME_MAX_CHARS} characters."]}})
    return name


def clean_note(raw: bytes) -> str | None:
    try:
        note = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ValidationFailed("Some fields are invalid.",
                               {"fields": {"note": ["Not UTF-8 text."]}}) from None
    if len(note) > NOTE_MAX_CHARS:
        raise ValidationFailed("Some fields are invalid.", {"fields": {"note": [
            f"At most {NOTE_MAX_CHARS} characters."]}})
    return note or None

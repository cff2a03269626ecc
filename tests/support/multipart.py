"""A multipart/form-data upload made lazily: the file's bytes are produced as they are read,
and the reader counts how many were taken, so a test can tell how much a server read."""
import io

BOUNDARY = "deskflow-test-boundary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def head(file_name: str, note: str | None = None) -> bytes:
    parts = b""
    if note is not None:
        parts += (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\n'
                  f"{note}\r\n").encode()
    return parts + (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
                    f'filename="{file_name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                    ).encode()


TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()


class CountingUpload(io.RawIOBase):
    """The body of an upload of ``size`` bytes starting with ``start`` (then zeros)."""

    def __init__(self, file_name: str, start: bytes, size: int, note: str | None = None):
        self.prefix = head(file_name, note) + start
        self.zeros = size - len(start)
        self.length = len(self.prefix) + self.zeros + len(TAIL)
        self.position = 0
        self.taken = 0

    def readable(self):
        return True

    def seekable(self):
        return True  # only for a test client measuring the length

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.position = offset + (self.length if whence == io.SEEK_END else 0)
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer) -> int:
        wanted = len(buffer)
        out = bytearray()
        if self.position < len(self.prefix):
            out += self.prefix[self.position:self.position + wanted]
        file_end = len(self.prefix) + self.zeros
        if len(out) < wanted and self.position + len(out) < file_end:
            out += bytes(min(wanted - len(out), file_end - self.position - len(out)))
        if len(out) < wanted and self.position + len(out) >= file_end:
            offset = self.position + len(out) - file_end
            out += TAIL[offset:offset + wanted - len(out)]
        buffer[:len(out)] = out
        self.position += len(out)
        self.taken += len(out)
        return len(out)

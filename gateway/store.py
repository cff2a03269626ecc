"""The attachment store: file contents addressed by their sha256, each kept once.

Two backends behind one small interface, chosen by ``ATTACHMENT_STORE``:

- a directory (``file:///srv/deskflow/attachments`` or a plain path; the default is
  ``$DATA_DIR/attachments``): ``<sha[:2]>/<sha>``, written to ``.incoming/`` first and moved
  into place once the whole file is there and hashed, so a reader never sees half a file;
- an S3-compatible bucket (``s3://bucket`` or ``s3://bucket/prefix``, ``ATTACHMENT_S3_ENDPOINT``
  for MinIO and the like; credentials as boto3 finds them): the upload is spooled to a
  temporary file on disk, then sent with boto3's multipart transfer under ``<prefix><sha>``.

Several gateways may share one store. Nothing here knows about attachments' owners: the
services keep the metadata, and :mod:`gateway.attachment_gc` removes files nobody points at.
"""
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

CHUNK = 256 * 1024
INCOMING = ".incoming"


@dataclass(frozen=True)
class StoredObject:
    sha256: str
    size: int
    modified_at: datetime


class StoreWriter:
    """Bytes of one file on their way into the store; :meth:`commit` names them."""

    def write(self, chunk: bytes) -> None:
        raise NotImplementedError

    def commit(self, sha256: str) -> bool:
        """Keep the bytes as ``sha256``; False when the store had them already (then the
        existing copy is marked as just used, so collecting garbage leaves it alone)."""
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError


class FileStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def __repr__(self):
        return f"FileStore({self.root})"

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def writer(self) -> StoreWriter:
        incoming = self.root / INCOMING
        incoming.mkdir(parents=True, exist_ok=True)
        return _FileWriter(self, incoming / uuid.uuid4().hex)

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def read(self, sha256: str, chunk: int = CHUNK) -> Iterator[bytes]:
        with self.path(sha256).open("rb") as stream:
            while block := stream.read(chunk):
                yield block

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    def objects(self) -> Iterator[StoredObject]:
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if folder.name == INCOMING or not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                stat = path.stat()
                yield StoredObject(path.name, stat.st_size,
                                   datetime.fromtimestamp(stat.st_mtime, timezone.utc))


class _FileWriter(StoreWriter):
    def __init__(self, store: FileStore, temporary: Path):
        self.store = store
        self.temporary = temporary
        self.stream = temporary.open("wb")

    def write(self, chunk: bytes) -> None:
        self.stream.write(chunk)

    def commit(self, sha256: str) -> bool:
        self.stream.close()
        target = self.store.path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_file():
            self.temporary.unlink(missing_ok=True)
            os.utime(target)
            return False
        os.replace(self.temporary, target)
        return True

    def abort(self) -> None:
        self.stream.close()
        self.temporary.unlink(missing_ok=True)


class S3Store:
    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None,
                 client=None):
        import boto3  # only a gateway configured for S3 needs it

        self.bucket = bucket
        self.prefix = prefix
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url)

    def __repr__(self):
        return f"S3Store(s3://{self.bucket}/{self.prefix})"

    def key(self, sha256: str) -> str:
        return f"{self.prefix}{sha256}"

    def writer(self) -> StoreWriter:
        return _S3Writer(self)

    def exists(self, sha256: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def read(self, sha256: str, chunk: int = CHUNK) -> Iterator[bytes]:
        body = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))["Body"]
        try:
            yield from body.iter_chunks(chunk)
        finally:
            body.close()

    def delete(self, sha256: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(sha256))

    def objects(self) -> Iterator[StoredObject]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                      Prefix=self.prefix)
        for page in pages:
            for item in page.get("Contents", []):
                yield StoredObject(item["Key"].removeprefix(self.prefix), item["Size"],
                                   item["LastModified"])

    def touch(self, sha256: str) -> None:
        """Copy the object onto itself: its LastModified becomes now."""
        key = self.key(sha256)
        self.client.copy_object(Bucket=self.bucket, Key=key, MetadataDirective="REPLACE",
                                CopySource={"Bucket": self.bucket, "Key": key})


class _S3Writer(StoreWriter):
    def __init__(self, store: S3Store):
        self.store = store
        self.spool = tempfile.TemporaryFile()

    def write(self, chunk: bytes) -> None:
        self.spool.write(chunk)

    def commit(self, sha256: str) -> bool:
        try:
            if self.store.exists(sha256):
                self.store.touch(sha256)
                return False
            self.spool.seek(0)
            self.store.client.upload_fileobj(self.spool, self.store.bucket, self.store.key(sha256))
            return True
        finally:
            self.spool.close()

    def abort(self) -> None:
        self.spool.close()


def open_store(location: str, s3_endpoint: str | None = None):
    """The store ``ATTACHMENT_STORE`` names: ``s3://bucket[/prefix]``, else a directory."""
    if location.startswith("s3://"):
        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return S3Store(bucket, prefix, s3_endpoint)
    directory = directory_of(location)
    if directory is None:
        raise ValueError(f"ATTACHMENT_STORE: a directory, file:// or s3:// URL, not {location}")
    return FileStore(directory)


def directory_of(location: str) -> Path | None:
    """The directory of a file store (what ``make backup`` copies); None for S3."""
    if "://" in location and not location.startswith("file://"):
        return None
    return Path(location.removeprefix("file://"))

"""The attachment store on a real directory and on an S3-speaking server (moto's, in its
own process): a file is kept once under its sha256, read back byte for byte, listed with its
age, and an unfinished upload leaves nothing behind."""
import hashlib
import os
import uuid

import pytest

from gateway.store import FileStore, S3Store, open_store


@pytest.fixture(params=["file", "s3"])
def store(request, tmp_path):
    if request.param == "file":
        return open_store(f"file://{tmp_path / 'attachments'}")
    s3 = request.getfixturevalue("s3")
    return S3Store(s3.bucket, f"test-{uuid.uuid4().hex[:6]}/", client=s3.client())


def put(store, data: bytes, chunk: int = 1000) -> tuple[str, bool]:
    writer = store.writer()
    for start in range(0, len(data), chunk):
        writer.write(data[start:start + chunk])
    sha256 = hashlib.sha256(data).hexdigest()
    return sha256, writer.commit(sha256)


def test_a_file_is_stored_once_and_read_back_byte_for_byte(store):
    data = os.urandom(300_000)
    sha256, new = put(store, data)
    assert new is True
    assert store.exists(sha256)
    assert b"".join(store.read(sha256, chunk=64 * 1024)) == data
    again, new_again = put(store, data, chunk=7777)
    assert (again, new_again) == (sha256, False)
    listed = [(item.sha256, item.size) for item in store.objects()]
    assert listed == [(sha256, len(data))]


def test_an_aborted_upload_leaves_nothing(store):
    writer = store.writer()
    writer.write(b"half a file")
    writer.abort()
    assert list(store.objects()) == []
    if isinstance(store, FileStore):
        assert list((store.root / ".incoming").iterdir()) == []


def test_delete_removes_the_file(store):
    sha256, _ = put(store, b"%PDF-1.7 to be removed")
    store.delete(sha256)
    assert not store.exists(sha256)
    assert list(store.objects()) == []
    store.delete(sha256)  # deleting again is no error


def test_the_directory_layout_is_the_one_make_backup_copies(tmp_path):
    store = open_store(str(tmp_path / "plain-path"))
    sha256, _ = put(store, b"plain text")
    assert (tmp_path / "plain-path" / sha256[:2] / sha256).read_bytes() == b"plain text"


def test_store_locations():
    assert isinstance(open_store("s3://bucket/some/prefix", "http://127.0.0.1:9"), S3Store)
    assert open_store("s3://bucket/some/prefix", "http://127.0.0.1:9").prefix == "some/prefix/"
    with pytest.raises(ValueError):
        open_store("ftp://example/attachments")

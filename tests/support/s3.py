"""An S3-speaking server for tests: moto's standalone server in its own process, on a free
port, with one bucket made; the environment a gateway needs to use it.

The bucket is made and listed with plain HTTP (moto does not check signatures), so a test
process need not build a boto3 client, whose SSL set-up recurses under eventlet's patching
in some test sessions."""
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ElementTree
from contextlib import contextmanager

import requests

from scripts.run import die_with_parent
from tests.support.stack import free_port
from tests.support.waiting import wait_until

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "deskflow-test", "AWS_SECRET_ACCESS_KEY": "deskflow-test",
               "AWS_DEFAULT_REGION": "us-east-1"}


class S3Server:
    def __init__(self, endpoint: str, bucket: str):
        self.endpoint = endpoint
        self.bucket = bucket

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint,
                            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                            region_name=CREDENTIALS["AWS_DEFAULT_REGION"])

    def env(self, prefix: str = "") -> dict:
        """ATTACHMENT_STORE and friends for a gateway storing into the bucket."""
        return {"ATTACHMENT_STORE": f"s3://{self.bucket}/{prefix}".rstrip("/"),
                "ATTACHMENT_S3_ENDPOINT": self.endpoint, **CREDENTIALS}

    def keys(self, prefix: str = "") -> list[str]:
        """Every key in the bucket under ``prefix``."""
        keys, token = [], None
        while True:
            query = {"list-type": "2", "prefix": prefix}
            if token:
                query["continuation-token"] = token
            response = requests.get(f"{self.endpoint}/{self.bucket}", params=query, timeout=10)
            response.raise_for_status()
            listing = ElementTree.fromstring(response.content)
            keys += [element.text for element in listing.iter() if element.tag.endswith("}Key")]
            token = next((element.text for element in listing.iter()
                          if element.tag.endswith("}NextContinuationToken")), None)
            if not token:
                return sorted(keys)


def _answers(endpoint: str) -> bool:
    try:
        return requests.get(endpoint + "/moto-api/", timeout=2).status_code < 500
    except requests.RequestException:
        return False


@contextmanager
def running_s3(workdir):
    port = free_port()
    log = (workdir / "moto.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                "-p", str(port)], stdout=log, stderr=subprocess.STDOUT,
                               preexec_fn=die_with_parent)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        wait_until(lambda: process.poll() is not None or _answers(endpoint), timeout=60,
                   message="moto's S3 server answers")
        assert process.poll() is None, (workdir / "moto.log").read_text()
        server = S3Server(endpoint, f"deskflow-{uuid.uuid4().hex[:8]}")
        requests.put(f"{endpoint}/{server.bucket}", timeout=10).raise_for_status()
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()

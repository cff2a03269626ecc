"""The API's documentation page: Swagger UI served by the gateway itself (every file it
loads comes from the gateway, nothing from the network), public, reading the OpenAPI
document the gateway builds."""
import re

from tests.support.gateway_app import gateway_app as app_for
from tests.support.stack import free_port


def test_the_docs_page_loads_only_files_the_gateway_serves(tmp_path):
    client = app_for(tmp_path, f"amqp://guest:guest@127.0.0.1:{free_port()}/").test_client()
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", html)
    loaded = re.findall(r"(?:src|href)=\"([^\"]+)\"", html)
    assert "/api/docs/swagger-ui-bundle.js" in loaded and "/api/docs/swagger-ui.css" in loaded
    for path in loaded:
        response = client.get(path)
        assert response.status_code == 200, path
        assert len(response.get_data()) > 0
    start = client.get("/api/docs/start.js").get_data(as_text=True)
    document_url = re.search(r'url: "([^"]+)"', start).group(1)
    document = client.get(document_url)
    assert document.status_code == 200 and document.get_json()["openapi"].startswith("3.")


def test_only_the_bundle_files_are_served(tmp_path):
    client = app_for(tmp_path, f"amqp://guest:guest@127.0.0.1:{free_port()}/").test_client()
    assert client.get("/api/docs/index.j2").status_code == 404
    assert client.get("/api/docs/..%2Fapp.py").status_code == 404

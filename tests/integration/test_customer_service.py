from nameko.testing.services import entrypoint_hook

from services.customer.service import CustomerService


def test_create_through_a_real_container(container_factory, make_config):
    container = container_factory(CustomerService, make_config("customer"))
    container.start()
    with entrypoint_hook(container, "create") as create:
        customer = create({"name": "Hooked Ltd", "industry": "FIN"})
    assert customer["id"].endswith("-FIN-001")

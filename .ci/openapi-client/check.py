"""A client generated from the served OpenAPI document (openapi-python-client) registers, logs
in on both guards, and reads the customer back: the document's types match the answers."""

import sys
import uuid

from customer_accounts_rest_compatibility_shim_client import AuthenticatedClient, Client
from customer_accounts_rest_compatibility_shim_client.api.bagisto import login, me, register
from customer_accounts_rest_compatibility_shim_client.models import (
    BagistoCredentials,
    BagistoRegistration,
    CustomerData,
    LoginAnswer,
    Message,
)

base = sys.argv[1]
email = f"generated-{uuid.uuid4().hex[:8]}@example.com"
password = "generated-client-1"
client = Client(base_url=base, raise_on_unexpected_status=True)

created = register.sync(client=client, body=BagistoRegistration(
    email=email, first_name="Gen", last_name="Erated", password=password, password_confirmation=password))
assert isinstance(created, Message), created

answer = login.sync(client=client, body=BagistoCredentials(email=email, password=password), token=True)
assert isinstance(answer, LoginAnswer) and isinstance(answer.token, str), answer
cookie_answer = login.sync(client=client, body=BagistoCredentials(email=email, password=password))
assert isinstance(cookie_answer, LoginAnswer) and cookie_answer.token is True, cookie_answer

customer = me.sync(client=AuthenticatedClient(base_url=base, token=answer.token))
assert isinstance(customer, CustomerData) and customer.data.email == email, customer
print("generated OpenAPI client: register, login (JWT and cookie guards) and get customer all typed and working")

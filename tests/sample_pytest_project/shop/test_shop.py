"""pytest-django as its users use it, and the tools a Django site runs, on the sample site."""

import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from shop.checks import record
from shop.models import Product


@pytest.mark.django_db
def test_orm_inside_the_test_transaction(django_assert_num_queries, worker_id):
    with django_assert_num_queries(2):
        Product.objects.create(name="lamp")
        assert list(Product.objects.values_list("name", flat=True)) == ["lamp"]
    entry = record(worker_id)
    if worker_id != "master":
        # pytest-xdist: a test database per worker.
        assert entry["db"].endswith("_" + worker_id)


@pytest.mark.django_db
def test_the_test_transaction_is_rolled_back(worker_id):
    assert Product.objects.count() == 0
    record(worker_id)


def committed_names() -> list[str]:
    # Another thread: another Django connection, which sees only committed rows.
    found: list[str] = []

    def read() -> None:
        try:
            found.extend(Product.objects.order_by("name").values_list("name", flat=True))
        finally:
            connection.close()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join(30)
    return found


@pytest.mark.django_db(transaction=True)
def test_transaction_true_commits_and_locks_for_real(worker_id):
    with transaction.atomic():
        Product.objects.create(name="desk")
        locked = Product.objects.select_for_update().get(name="desk")
        Product.objects.filter(pk=locked.pk).update(stock=3)
        assert committed_names() == []
    assert committed_names() == ["desk"]
    record(worker_id)


@pytest.mark.django_db
def test_execute_wrapper_sees_every_statement():
    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append((sql, many))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        Product.objects.bulk_create([Product(name="a"), Product(name="b")])
        with connection.cursor() as cursor:
            cursor.executemany("UPDATE shop_product SET stock = %s WHERE name = %s", [(1, "a")])
        assert Product.objects.filter(stock=1).count() == 1
    assert [many for _, many in seen] == [False, True, False]
    assert seen[0][0].startswith("INSERT INTO `shop_product`")


@pytest.mark.django_db
def test_capture_queries_context_counts_as_with_the_stock_backend():
    with CaptureQueriesContext(connection) as captured:
        with transaction.atomic():
            Product.objects.create(name="a")
            Product.objects.filter(name="a").update(stock=2)
        list(Product.objects.all())
    # The test's own transaction makes atomic() a savepoint: SAVEPOINT, INSERT, UPDATE,
    # RELEASE SAVEPOINT, SELECT.
    assert len(captured) == 5, [query["sql"] for query in captured]


@pytest.mark.django_db
def test_debug_toolbar_sql_panel_lists_the_requests_queries(client, settings):
    from debug_toolbar.store import get_store

    settings.DEBUG = True
    Product.objects.create(name="chair", stock=1)
    response = client.get("/products/")
    assert response.status_code == 200 and b"chair" in response.content
    store = get_store()
    request_id = list(store.request_ids())[-1]
    queries = store.panel(request_id, "SQLPanel")["queries"]
    # The view's atomic() inside the test's transaction is a savepoint.
    kinds = [query["raw_sql"].split()[0] for query in queries]
    assert kinds == ["SAVEPOINT", "SELECT", "UPDATE", "RELEASE", "SELECT"], kinds
    assert "FOR UPDATE" in queries[1]["raw_sql"]
    assert all(query["alias"] == "default" for query in queries)
    # The executed text with the parameters in it, as the driver sent it.
    assert "`stock` = 2" in queries[2]["sql"]


class MemoryTransport:
    """A Sentry transport that keeps the spans it is given in memory: nothing is sent anywhere.
    Each span as (op, description, data), from sentry-sdk 2.x's transaction events or 3.x's
    streamed span items."""

    def __init__(self):
        self.spans = []

    def __call__(self, options=None):
        import sentry_sdk.transport

        transport = self

        class Transport(sentry_sdk.transport.Transport):
            def capture_envelope(self, envelope):
                for item in envelope.items:
                    if item.type == "transaction":
                        for span in item.payload.json["spans"]:
                            transport.spans.append(
                                (span.get("op"), span.get("description"), span.get("data", {}))
                            )
                    elif item.type == "span":
                        for span in item.payload.json["items"]:
                            data = {
                                key: value["value"]
                                for key, value in span.get("attributes", {}).items()
                            }
                            if not span.get("is_segment"):
                                transport.spans.append((data.get("sentry.op"), span["name"], data))

        return Transport(options)


@pytest.fixture
def sentry_spans():
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    memory = MemoryTransport()
    client = sentry_sdk.Client(
        dsn="https://public@sentry.example.invalid/1",
        transport=memory(),
        integrations=[DjangoIntegration()],
        traces_sample_rate=1.0,
        default_integrations=False,
    )
    sentry_sdk.get_global_scope().set_client(client)
    try:
        yield memory.spans
    finally:
        client.close()
        sentry_sdk.get_global_scope().set_client(None)


def sentry_root_span(name):
    """A transaction (sentry-sdk 2.x) or a root span (3.x, where start_transaction() is gone)."""
    import sentry_sdk

    if sentry_sdk.VERSION.startswith("2."):
        return sentry_sdk.start_transaction(name=name, op="task")
    return sentry_sdk.start_span(name=name)


@pytest.mark.django_db
def test_sentry_records_a_span_per_query(sentry_spans):
    import sentry_sdk

    with sentry_root_span("restock"):
        Product.objects.create(name="shelf")
        Product.objects.filter(name="shelf").update(stock=5)
        assert Product.objects.get(name="shelf").stock == 5
    sentry_sdk.flush()
    spans = [(description, data) for op, description, data in sentry_spans if op == "db"]
    assert [description.split()[0] for description, _ in spans] == ["INSERT", "UPDATE", "SELECT"]
    data = spans[0][1]
    # 3.x names them after OpenTelemetry's conventions.
    assert data.get("db.system", data.get("db.system.name")) == "mysql"
    assert data.get("db.name", data.get("db.namespace")) == connection.settings_dict["NAME"]
    assert data["server.address"] == connection.settings_dict["HOST"]


@pytest.mark.django_db
def test_django_prometheus_query_metrics_are_exported():
    from prometheus_client import REGISTRY

    labels = {"alias": "default", "vendor": "mysql"}

    def value(name):
        return REGISTRY.get_sample_value(name, labels) or 0

    before = value("django_db_execute_total"), value("django_db_execute_many_total")
    duration = value("django_db_query_duration_seconds_count")
    Product.objects.create(name="a")
    list(Product.objects.all())
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO shop_product (name, stock) VALUES (%s, 0)", [("b",), ("c",)]
        )
    after = value("django_db_execute_total"), value("django_db_execute_many_total")
    assert (after[0] - before[0], after[1] - before[1]) == (4, 2)
    assert value("django_db_query_duration_seconds_count") - duration == 3

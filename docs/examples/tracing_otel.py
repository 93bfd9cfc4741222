"""OpenTelemetry for a Django site on this ENGINE: instrument the driver before Django connects.

Call instrument() where the process starts (settings.py, wsgi.py/asgi.py, or Gunicorn's
post_fork hook), or run the process under ``opentelemetry-instrument``, which does the same.
"""

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter


def instrument() -> None:
    """Trace every MySQL statement of this process (mysqlclient; PyMySQL below)."""
    provider = TracerProvider()
    # An OTLP exporter in production (opentelemetry-exporter-otlp); the console here.
    provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)

    from opentelemetry.instrumentation.mysqlclient import MySQLClientInstrumentor

    MySQLClientInstrumentor().instrument()
    # With PyMySQL installed as MySQLdb instead:
    # from opentelemetry.instrumentation.pymysql import PyMySQLInstrumentor
    # PyMySQLInstrumentor().instrument()

"""Prometheus metrics of one service, in its own registry (no process-global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ServiceMetrics:
    """The counters every service exposes at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "nrm_http_requests_total",
            "HTTP requests served",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_in_flight = Gauge(
            "nrm_http_requests_in_flight",
            "HTTP requests being served now (health and metrics not counted)",
            registry=self.registry,
        )
        self.http_shed = Counter(
            "nrm_http_requests_shed_total",
            "HTTP requests answered 503 at once: the process was at max_in_flight_requests",
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "nrm_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
        )
        self.events_published = Counter(
            "nrm_outbox_events_published_total",
            "Events the outbox relay published",
            ["topic"],
            registry=self.registry,
        )
        self.publish_failures = Counter(
            "nrm_outbox_publish_failures_total",
            "Outbox publish attempts that failed (the events stay in the outbox)",
            registry=self.registry,
        )
        self.outbox_backlog = Gauge(
            "nrm_outbox_backlog",
            "Unpublished events the relay saw at its last pass",
            registry=self.registry,
        )
        self.producer_recoveries = Counter(
            "nrm_kafka_producer_recoveries_total",
            "Kafka producers stopped and recreated after a failed delivery",
            ["client"],
            registry=self.registry,
        )
        self.events_consumed = Counter(
            "nrm_consumer_events_total",
            "Consumed events by outcome (processed, duplicate, ignored, dead_lettered)",
            ["consumer_group", "topic", "outcome"],
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "nrm_consumer_lag",
            "Records on an assigned partition not yet processed (high watermark - position)",
            ["consumer_group", "topic", "partition"],
            registry=self.registry,
        )
        self.handler_retries = Counter(
            "nrm_consumer_retries_total",
            "Handler attempts that failed and were retried",
            ["consumer_group", "topic"],
            registry=self.registry,
        )

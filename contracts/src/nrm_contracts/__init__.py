"""Event contracts of the NRM backbone.

Every event on every topic is a CloudEvents 1.0 envelope in structured JSON mode
(``application/cloudevents+json``). Its ``type`` is ``kh.nrm.<service>.<event>.v<N>``,
its ``subject`` is the case or facility id the event is about, which is also the Kafka
key, so that one case's events stay in order.
"""

from nrm_contracts.envelope import CONTENT_TYPE, Actor, Envelope, InvalidEvent
from nrm_contracts.registry import EventPayload, event_types, payload_class
from nrm_contracts.topics import Topic, dead_letter_topic

__all__ = [
    "CONTENT_TYPE",
    "Actor",
    "Envelope",
    "EventPayload",
    "InvalidEvent",
    "Topic",
    "dead_letter_topic",
    "event_types",
    "payload_class",
]

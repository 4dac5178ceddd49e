"""The topic registry: one topic per owning service, keyed by case or facility id."""

from enum import StrEnum


class Topic(StrEnum):
    """A topic is owned by exactly one service: only that service publishes to it."""

    IDENTIFICATION = "nrm.identification"
    REFERRAL = "nrm.referral"
    SHELTER_REGISTRY = "nrm.shelter-registry"
    REPATRIATION = "nrm.repatriation"


def dead_letter_topic(topic: str, consumer_group: str) -> str:
    """Where a consumer group parks the records of ``topic`` it cannot process.

    One dead-letter topic per (topic, group): a poison record for one reader is not
    necessarily poison for another, and each owner replays its own.
    """
    return f"{topic}.dlq.{consumer_group}"

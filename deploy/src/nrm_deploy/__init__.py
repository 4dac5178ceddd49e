"""Local deployment of the NRM backbone: a real Apache Kafka broker fetched from Maven
Central and started without Docker (:mod:`nrm_deploy.kafka`), and the whole stack on
one machine."""

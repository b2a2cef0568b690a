#!/bin/sh
# kafka-run.sh CLASS [ARGS...] — run a Kafka main class with the jars in /opt/kafka/libs.
# Quiet client tools: log4j2 writes only warnings to stderr unless KAFKA_LOG4J_OPTS is set.
cls="$1"; shift
: "${KAFKA_LOG4J_OPTS:=-Dlog4j2.configurationFile=/opt/kafka/log4j2.properties}"
exec java ${KAFKA_JVM_OPTS:--Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1} \
  $KAFKA_LOG4J_OPTS -cp '/opt/kafka/libs/*' "$cls" "$@"

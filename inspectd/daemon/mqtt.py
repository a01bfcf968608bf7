"""The one owner of the daemon's MQTT connection. Nothing else in the daemon touches paho (``inspectd send``, a
client of the daemon, builds its client with ``broker_client`` too).

It connects with a last will (availability 'offline', retained), announces 'online' on every
(re)connect, re-subscribes, reconnects with exponential backoff (paho's loop), keeps a persistent
session (clean_start false + session expiry) so QoS 1 traffic survives a broker restart, and bounds
the outgoing queue: a publish the full queue refuses is counted and logged, never blocks.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from inspectd.config.broker import BrokerConfig
from inspectd.daemon.metrics import DaemonMetrics
from inspectd.daemon.topics import Topics

MessageHandler = Callable[[str, bytes], None]
"""Called with (topic, payload) on paho's network thread; must not block for long. The message is acknowledged
once it returns."""


class MqttConnection:
    def __init__(self, settings: BrokerConfig, topics: Topics, metrics: DaemonMetrics, log) -> None:
        self._settings = settings
        self._topics = topics
        self._metrics = metrics
        self._log = log.bind(component="mqtt", broker=f"{settings.host}:{settings.port}")
        self._v5 = settings.protocol == "v5"
        self._client = broker_client(settings, settings.client_id, clean=False, manual_ack=True)
        self._client.will_set(topics.availability, "offline", qos=1, retain=True)
        self._client.max_queued_messages_set(settings.max_queued_messages)
        self._client.reconnect_delay_set(settings.reconnect_min_s, settings.reconnect_max_s)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_unhandled_message
        self._client.on_subscribe = self._on_subscribe
        self._subscriptions: dict[str, str] = {}  # subscribed filter ($share/... included) -> plain filter
        self._pending: deque[paho.MQTTMessageInfo] = deque()
        self._pending_lock = threading.Lock()
        self._connected = threading.Event()
        self._ready = threading.Event()  # connected and every subscription acknowledged
        self._resubscribe_mid: int | None = None
        self._stopping = False  # a disconnect we asked for is no warning
        self._holding = False  # hold_incoming: received messages stay with the broker
        self._handling = threading.Lock()  # one handler at a time (paho's network thread), and hold_incoming
        metrics.broker_connected.set(0)

    # -- life cycle -----------------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background; paho's loop thread reconnects with backoff from then on."""
        properties = None
        if self._v5:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = self._settings.session_expiry_s
        self._client.connect_async(
            self._settings.host,
            self._settings.port,
            keepalive=self._settings.keepalive_s,
            clean_start=False if self._v5 else paho.MQTT_CLEAN_START_FIRST_ONLY,
            properties=properties,
        )
        self._client.loop_start()

    def wait_connected(self, timeout_s: float) -> bool:
        """Wait until connected with every subscription acknowledged (then 'online' is published)."""
        return self._ready.wait(timeout_s)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Deliver what is pending, announce 'offline' (retained), disconnect."""
        self.publish(self._topics.availability, b"offline", retain=True, kind="availability")
        self.flush(timeout_s)
        self._stopping = True
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()
        self._ready.clear()
        self._metrics.broker_connected.set(0)

    # -- traffic --------------------------------------------------------------------------------
    def subscribe(self, topic_filter: str, handler: MessageHandler, shared_group: str | None = None) -> None:
        """Call ``handler`` for messages on ``topic_filter``; with a group, as ``$share/<group>/<filter>``."""
        subscribed = f"$share/{shared_group}/{topic_filter}" if shared_group else topic_filter
        self._subscriptions[subscribed] = topic_filter
        self._client.message_callback_add(topic_filter, self._guarded(handler))
        if self.connected:
            self._client.subscribe(subscribed, qos=1)

    def publish(self, topic: str, payload: bytes | str, retain: bool = False, kind: str = "result",
                user_properties: dict[str, str] | None = None) -> bool:
        """Queue a QoS 1 message; False (counted, logged) when the outgoing queue is full.

        ``user_properties`` travel as MQTT v5 user properties (ignored on v3.1.1).
        """
        properties = None
        if user_properties and self._v5:
            properties = Properties(PacketTypes.PUBLISH)
            properties.UserProperty = list(user_properties.items())
        info = self._client.publish(topic, payload, qos=1, retain=retain, properties=properties)
        if info.rc == paho.MQTT_ERR_QUEUE_SIZE:
            self._metrics.mqtt_messages_shed.labels(kind).inc()
            self._log.warning("mqtt_message_shed", topic=topic, kind=kind, reason="outgoing_queue_full")
            return False
        if info.rc == paho.MQTT_ERR_NO_CONN:  # queued: paho sends it on reconnect (is_published would raise)
            info.rc = paho.MQTT_ERR_SUCCESS
        with self._pending_lock:
            self._pending.append(info)
            while self._pending and _settled(self._pending[0]):
                self._pending.popleft()
        return True

    def flush(self, timeout_s: float) -> bool:
        """Wait until every QoS 1 message published so far is acknowledged; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._pending_lock:
                while self._pending and _settled(self._pending[0]):
                    self._pending.popleft()
                if not self._pending:
                    return True
            time.sleep(0.01)
        return False

    # -- paho callbacks (network thread) ----------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._log.error("mqtt_connect_refused", reason=str(reason_code))
            return
        self._connected.set()
        self._metrics.broker_connected.set(1)
        self._log.info("mqtt_connected", session_present=bool(flags.session_present))
        if self._subscriptions:
            _, self._resubscribe_mid = client.subscribe([(s, 1) for s in self._subscriptions])
        else:
            self._announce_online(client)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        refused = [str(code) for code in reason_codes if code.is_failure]
        if refused:
            self._log.error("mqtt_subscribe_refused", reasons=refused, filters=list(self._subscriptions))
        if mid == self._resubscribe_mid:
            self._announce_online(client)

    def _announce_online(self, client: paho.Client) -> None:
        client.publish(self._topics.availability, b"online", qos=1, retain=True)
        self._ready.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._connected.clear()
        self._ready.clear()
        self._metrics.broker_connected.set(0)
        log = self._log.info if self._stopping else self._log.warning
        log("mqtt_disconnected", reason=str(reason_code))

    def _on_unhandled_message(self, client, userdata, message: paho.MQTTMessage) -> None:
        self._log.error("mqtt_unhandled_message", topic=repr(message._topic), bytes=len(message.payload))
        client.ack(message.mid, message.qos)

    def hold_incoming(self) -> None:
        """From now on received messages are neither handled nor acknowledged: the broker keeps them in the session
        and delivers them after the next connect. The daemon calls it on shutdown once the answers still to come
        could no longer be published (acknowledged on arrival and answered then, a part was lost); a handler that
        is running finishes first."""
        with self._handling:
            self._holding = True

    def _guarded(self, handler: MessageHandler) -> Callable:
        def on_message(client, userdata, message: paho.MQTTMessage) -> None:
            with self._handling:
                if self._holding:
                    return
                try:
                    handler(message.topic, message.payload)
                except Exception:  # a handler bug or a non-UTF-8 topic must not stop paho's network loop
                    self._log.exception("mqtt_handler_failed", topic=repr(message._topic))
                client.ack(message.mid, message.qos)

        return on_message


def broker_client(settings: BrokerConfig, client_id: str, clean: bool, manual_ack: bool = False) -> paho.Client:
    """A paho client for the configured broker: protocol, credentials and TLS; ``clean``: no persistent
    session (a short-lived client), else the daemon's session that outlives a reconnect; ``manual_ack``: received
    QoS 1 messages are acknowledged by ``client.ack``, not on arrival."""
    v5 = settings.protocol == "v5"
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=paho.MQTTv5 if v5 else paho.MQTTv311, clean_session=None if v5 else clean,
                         manual_ack=manual_ack)
    if settings.username is not None:
        client.username_pw_set(settings.username, settings.resolve_password())
    if settings.tls is not None:
        tls = settings.tls
        client.tls_set(ca_certs=str(tls.ca_file), certfile=str(tls.cert_file) if tls.cert_file else None,
                       keyfile=str(tls.key_file) if tls.key_file else None)
        client.tls_insecure_set(tls.insecure_skip_verify)
    return client


def _settled(info: paho.MQTTMessageInfo) -> bool:
    """Acknowledged by the broker, or failed for good (paho will not send it): nothing left to wait for."""
    return info.rc != paho.MQTT_ERR_SUCCESS or info.is_published()

"""The daemon: builds the pipeline from the config, runs it, and shuts it down in order.

source -> Router -> FrameQueue (per product) -> ProductWorker -> ResultDispatcher -> sinks.
Shutdown (SIGTERM/SIGINT): stop the cameras, answer late frames 'rejected', drain the queues,
publish every pending result, set availability offline, disconnect. SIGHUP re-checks every bank.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import signal
import threading
import time
from typing import Any

import structlog

from inspectd import plugin_registry
from inspectd.config import InspectdConfig
from inspectd.config.cameras import CameraConfig
from inspectd.config.mqtt_inputs import MqttInputConfig
from inspectd.console.server import Console
from inspectd.daemon.banks import BankWatcher, ProductBank
from inspectd.daemon.commands import CommandHandler
from inspectd.daemon.dispatch import ResultDispatcher
from inspectd.daemon.feedback_commands import FeedbackCommands
from inspectd.daemon.frame import Frame
from inspectd.daemon.interfaces import FrameSource, ResultSink, SinkContext, SourceContext
from inspectd.daemon.metrics import DaemonMetrics
from inspectd.daemon.mqtt import MqttConnection
from inspectd.daemon.queues import FrameQueue
from inspectd.daemon.router import Router
from inspectd.daemon.states import SourceStates
from inspectd.daemon.stream_learning import StreamLearning
from inspectd.daemon.topics import Topics
from inspectd.daemon.trigger import TriggerLatch
from inspectd.daemon.workers import ProductWorker

BROKER_CONNECT_WAIT_S = 5.0


class Daemon:
    def __init__(self, config: InspectdConfig) -> None:
        self.config = config
        self.metrics = DaemonMetrics()
        self.log = structlog.get_logger("inspectd")
        self.topics = Topics(config.broker.topic_prefix) if config.broker else None
        self.mqtt = MqttConnection(config.broker, self.topics, self.metrics, self.log) if config.broker else None
        initial_products = {c.name: c.product for c in config.cameras}
        initial_products |= {i.name: i.product for i in config.mqtt_inputs}
        self.states = SourceStates(initial_products, self.metrics, self._publish_state)
        self.banks = {name: ProductBank(name, settings, self.metrics, self._publish_event, self.log)
                      for name, settings in config.products.items()}
        self.watcher = BankWatcher(self.banks, min(p.reload_poll_s for p in config.products.values()), self.log)
        self.feedback = FeedbackCommands(config, self.topics, self.watcher, self._publish_event, self.log)
        self.console = Console(config, self.banks, self.watcher, self.feedback, self._publish_event,
                               self.log) if config.console.enabled else None
        self.dispatcher = ResultDispatcher(self._build_sinks(), config.products, self.metrics, self.log)
        queues = {name: FrameQueue(settings.queue_size) for name, settings in config.products.items()}
        self.router = Router(queues, self.states, self.dispatcher.submit, self.metrics, self.log)
        self.stream_learning = StreamLearning(config, self.topics, self.banks, self.watcher, self.metrics,
                                              self._publish_event, self.log)
        self.workers = [ProductWorker(name, self.banks[name], queues[name], settings.max_batch,
                                      self.dispatcher.submit, self.metrics, self.log,
                                      self.stream_learning.observer(name))
                        for name, settings in config.products.items()]
        self.commands = CommandHandler(config.commands, self.topics, self.states, self.watcher,
                                       set(config.products), set(initial_products), self._publish_event, self.log)
        self.sources: list[FrameSource] = []
        self.metrics_server: Any = None
        self._stop_requested = threading.Event()

    # -- life cycle -----------------------------------------------------------------------------
    def start(self) -> None:
        settings = self.config.metrics
        if settings.enabled:
            self.metrics_server = self.metrics.serve(settings.bind, settings.port)
        if self.console is not None:  # first of the rest: a port in use stops the start before any thread runs
            self.console.start()
        self.watcher.load_initial()
        self.watcher.start()
        self.dispatcher.start()
        self.stream_learning.start()
        for worker in self.workers:
            worker.start()
        self.states.publish_all()
        if self.mqtt is not None:
            self.commands.subscribe(self.mqtt)
            self.feedback.subscribe(self.mqtt)
            self.stream_learning.subscribe(self.mqtt)
        self.sources = [self._start_camera(c) for c in self.config.cameras]
        self.sources += [self._start_mqtt_input(i) for i in self.config.mqtt_inputs]
        if self.mqtt is not None:  # last: parts kept in our session arrive the moment we connect
            self.mqtt.start()
            if not self.mqtt.wait_connected(BROKER_CONNECT_WAIT_S):
                self.log.warning("mqtt_not_connected_yet", hint="results queue until the broker answers")
        self.log.info("started", products=list(self.banks), sources=self.config.source_names,
                      metrics_port=self.metrics_port, broker=self.mqtt is not None,
                      console=self.console.url if self.console is not None else None)

    def request_stop(self) -> None:
        self._stop_requested.set()

    def stop(self) -> None:
        """Stop ingest, drain, publish what is pending, go offline."""
        self.log.info("stopping")
        for source in self.sources:
            source.stop()
        self.router.close()
        drain_deadline = time.monotonic() + self.config.shutdown_drain_s
        for worker in self.workers:
            worker.join(max(0.0, drain_deadline - time.monotonic()))
        if self.mqtt is not None:  # late parts are answered 'rejected' until here; from now on the session keeps them
            self.mqtt.hold_incoming()
        self.stream_learning.stop()
        self.watcher.stop()
        self.dispatcher.stop()
        self.dispatcher.close_sinks()
        if self.mqtt is not None:
            self.mqtt.stop()
        if self.metrics_server is not None:
            self.metrics_server.shutdown()
        self.log.info("stopped")

    @property
    def sources_lingering(self) -> bool:
        """A source thread is still inside a device call (an open or read bounded by its own timeout)."""
        return any(getattr(source, "lingering", False) for source in self.sources)

    def run_forever(self) -> None:
        """Start, serve until SIGTERM/SIGINT, stop. SIGHUP forces a bank re-check."""
        signal.signal(signal.SIGTERM, lambda *_: self.request_stop())
        signal.signal(signal.SIGINT, lambda *_: self.request_stop())
        signal.signal(signal.SIGHUP, lambda *_: self.watcher.request_reload())
        self.start()
        while not self._stop_requested.wait(1.0):
            pass
        self.stop()

    @property
    def metrics_port(self) -> int | None:
        return self.metrics_server.server_port if self.metrics_server is not None else None

    # -- assembly -------------------------------------------------------------------------------
    def _build_sinks(self) -> list[ResultSink]:
        names = (["mqtt"] if self.mqtt is not None else []) + (["disk"] if self.config.storage else [])
        context = SinkContext(self.config, self.topics, self.mqtt, self.metrics, self.log)
        sinks = [plugin_registry.load("sinks", name)(context) for name in names]
        return sinks + ([self.console] if self.console is not None else [])

    def _source_context(self, name: str, emit: Any) -> SourceContext:
        return SourceContext(name=name, emit=emit, reject=self.router.reject,
                             set_up=functools.partial(self.states.set_up, name), mqtt=self.mqtt,
                             log=self.log.bind(source=name), decode_min_side=self.decode_min_side,
                             metrics=self.metrics)

    def decode_min_side(self) -> int | None:
        """The shorter side a JPEG frame may be decoded down to: the longest side any product's overlay
        (heatmap ``max_size``) or serving detector input has, so none of them is made from upscaled
        pixels. None (full decode) when ``reduced_jpeg_decode`` is off or no product needs a size yet.
        All products, since a JSON payload may name its own; asked per frame, since a bank swap may
        change the input shape."""
        if not self.config.reduced_jpeg_decode:
            return None
        needs = [p.heatmap.max_size for p in self.config.products.values() if p.heatmap.enabled]
        needs += [b.detector.frame_side() for b in self.banks.values() if b.detector is not None]
        return max(needs, default=None)

    def _start_camera(self, camera: CameraConfig) -> FrameSource:
        plugin = plugin_registry.load("sources", camera.source.type)
        submit_part = functools.partial(self.router.submit, wait_s=camera.trigger.backpressure_timeout_s)
        triggered = camera.trigger.mode == "topic"
        fires_trigger = triggered and getattr(plugin, "fires_trigger", False)
        trigger_topic = camera.trigger.topic or (self.topics.trigger(camera.name) if self.topics else None)
        delivers_parts = getattr(plugin, "delivers_parts", False)
        if triggered:
            submit_part = self._aging(camera.name, submit_part)
        if triggered and not fires_trigger:
            latch = TriggerLatch(camera.name, submit_part, self.router.reject)
            self.mqtt.subscribe(trigger_topic, latch.on_trigger)
            emit = latch.hold
        elif fires_trigger or (delivers_parts(camera) if callable(delivers_parts) else delivers_parts):
            emit = submit_part
        else:
            emit = self._free_running_emit
        source = plugin(camera, self._source_context(camera.name, emit))
        if fires_trigger:
            self.mqtt.subscribe(trigger_topic, source.on_trigger)
        source.start()
        return source

    def _aging(self, source: str, submit: Any) -> Any:
        """``submit`` that first records how old the triggered frame is (inspectd_trigger_frame_age_seconds)."""
        age = self.metrics.trigger_frame_age.labels(source)

        def submit_aged(frame: Frame) -> None:
            if frame.info.captured_at is not None:
                age.observe(max(0.0, time.time() - frame.info.captured_at))
            submit(frame)

        return submit_aged

    def _free_running_emit(self, frame: Frame) -> None:
        self.router.submit(dataclasses.replace(frame, droppable=True))

    def _start_mqtt_input(self, settings: MqttInputConfig) -> FrameSource:
        emit = functools.partial(self.router.submit, wait_s=settings.backpressure_timeout_s)
        source = plugin_registry.load("sources", "mqtt")(settings, self._source_context(settings.name, emit))
        source.start()
        return source

    # -- reports --------------------------------------------------------------------------------
    def _publish_event(self, event: dict[str, Any]) -> None:
        if self.console is not None:
            self.console.board.add_event(event)
        if self.mqtt is not None:
            self.mqtt.publish(self.topics.events, json.dumps(event), kind="event")

    def _publish_state(self, source: str, state: dict[str, Any]) -> None:
        if self.console is not None:
            self.console.board.set_state(source, state)
        if self.mqtt is not None:
            self.mqtt.publish(self.topics.state(source), json.dumps(state), retain=True, kind="state")

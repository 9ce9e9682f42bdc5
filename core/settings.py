"""Engine settings: config/engine.yaml, then environment overrides (AMI_URL, ...)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from asterisk import dialplan as dp
from asterisk.client import AmiUrl
from core.errors import ConfigError
from core.yamlconf import load_model, validate

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AmiSettings(_Strict):
    url: str = "ami://centralita:CHANGE-ME@127.0.0.1:5038"
    action_timeout: float = Field(10.0, gt=0)
    connect_timeout: float = Field(5.0, gt=0)
    ping_interval: float = Field(10.0, gt=0)
    #: `run` exits with an error if it has never connected after this many seconds.
    give_up_after: float = Field(60.0, gt=0)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        AmiUrl.parse(v)
        return v

    @property
    def parsed(self) -> AmiUrl:
        return AmiUrl.parse(self.url)


class DatabaseSettings(_Strict):
    url: str = "sqlite+aiosqlite:///var/centralita.db"
    #: how long one SQLite write waits for a lock before the journal backs off and retries
    busy_timeout: float = Field(5.0, gt=0)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        scheme = v.split("://", 1)[0]
        if scheme not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
            raise ValueError("database url must be sqlite+aiosqlite:///... or postgresql+asyncpg://...")
        return v


class MqttSettings(_Strict):
    #: mqtt://host:1883 or mqtts://host:8883 (TLS); a user and password may be given in the
    #: URL (mqtt://engine:secret@host), but better in `username` and `password_file` (or
    #: the MQTT_PASSWORD environment variable): a URL is easily shown
    url: str = "mqtt://127.0.0.1:1883"
    prefix: str = "centralita/"
    #: the start of the engine's client ids; each connection adds its role and a random
    #: suffix, so another client with the same id cannot knock the engine off the broker
    client_id: str = "centralita"
    username: str | None = None
    password_file: str | None = None  # a file holding only the password (mode 0600)
    ca_file: str | None = None  # TLS: the CA that signed the broker's certificate
    cert_file: str | None = None  # TLS client certificate (instead of, or with, a password)
    key_file: str | None = None
    enabled: bool = True
    retry_max: float = Field(10.0, gt=0)  # longest wait between reconnect attempts
    #: set from MQTT_PASSWORD by load_settings (never read from engine.yaml's own text)
    password_env: str | None = Field(None, exclude=True, repr=False)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError("mqtt url must look like mqtt://host:1883 or mqtts://host:8883")
        try:
            parts.port  # noqa: B018 (raises on a bad port)
        except ValueError:
            raise ValueError("mqtt url has a bad port") from None
        return v

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if any(c in v for c in "#+") or not v:
            raise ValueError("topic prefix must be non-empty and without MQTT wildcards")
        return v if v.endswith("/") else v + "/"

    @field_validator("client_id")
    @classmethod
    def _client_id(cls, v: str) -> str:
        if not v or len(v) > 40 or not all(c.isalnum() or c in "-_." for c in v):
            raise ValueError("client_id: 1-40 letters, digits, '-', '_' or '.'")
        return v

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts"

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or (8883 if self.tls else 1883)

    @property
    def user(self) -> str | None:
        return self.username or urlsplit(self.url).username or None

    def secret(self) -> str | None:
        """The password: the file, else MQTT_PASSWORD, else the URL's."""
        if self.password_file:
            return Path(self.password_file).read_text(encoding="utf-8").strip()
        if self.password_env:
            return self.password_env
        return urlsplit(self.url).password or None

    @property
    def safe_url(self) -> str:
        """The URL with any password masked, for logs and messages."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return parts._replace(netloc=netloc).geturl()


class LogSettings(_Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"


class GreetingSettings(_Strict):
    """The foundation's call flow: answer, play a prompt, hang up (until the IVR lands)."""

    prompt: str = Field("hello-world", pattern=r"^[A-Za-z0-9_/\-]+$")
    contexts: tuple[str, ...] = (dp.INBOUND,)


class IvrSettings(_Strict):
    #: the IVR's YAML, relative to the config directory; none: the greeting flow answers
    file: str | None = None


class RecordingSettings(_Strict):
    #: recording policies, QA forms (relative to the config directory); none: nothing recorded
    file: str | None = None
    #: overrides the file's `directory` (and the engine then sees it there too): the demo
    #: records under var/; a deployment can point at its own mount
    directory: str | None = None
    #: seconds after a recording ends before the file is checked (Asterisk closes it then)
    settle: float = Field(1.0, ge=0, le=60)


class HoursSettings(_Strict):
    #: business hours defined once (named schedules), referenced by name from ivr.yaml
    #: (`schedule: office`) and queues.yaml (`hours: office`); relative to this directory
    file: str | None = None


class AcdSettings(_Strict):
    #: queues and agents, relative to the config directory; none: queued calls stay parked
    queues: str | None = None
    agents: str | None = None
    #: how often (at most) `queues/{queue}/stats` goes out for a queue that changed
    stats_every: float = Field(2.0, gt=0, le=3600)


class DialerSettings(_Strict):
    #: outbound campaigns (relative to the config directory); none: no dialer. Needs the
    #: ACD's agents.yaml (campaigns name its agents and skills)
    campaigns: str | None = None
    #: how often (at most) `campaigns/{name}/stats` goes out for a running campaign
    stats_every: float = Field(2.0, gt=0, le=3600)


class ReportSettings(_Strict):
    #: the center's own time zone: report dates (--from/--to) and intervals are read in it
    timezone: str = "UTC"
    #: first-contact resolution: no contact from the same number within this many days
    fcr_days: int = Field(7, ge=1, le=90)
    #: also write Asterisk's queue_log format to this file (QueueMetrics, Asternic, ...);
    #: relative to the config directory; none: not written
    queue_log: str | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/Madrid)") from None
        return value


class Threshold(_Strict):
    """Where a wallboard figure turns amber and red. For figures where more is better
    (service level) red is below amber; for the rest it is above."""

    amber: float
    red: float


Figure = Literal["waiting", "longest_wait", "service_level", "abandoned", "callbacks_waiting"]


def _thresholds() -> dict[Figure, Threshold]:
    return {"waiting": Threshold(amber=3, red=6), "longest_wait": Threshold(amber=30, red=60),
            "service_level": Threshold(amber=80, red=70), "abandoned": Threshold(amber=5, red=10),
            "callbacks_waiting": Threshold(amber=3, red=6)}


class HttpSettings(_Strict):
    #: the wallboard, reports pages and /metrics; none: no web server
    listen: str | None = None
    #: a login lasts this long without use
    session_minutes: float = Field(480, gt=0, le=7 * 24 * 60)
    #: things (queues, agents, campaigns) a wallboard page may have waiting to be sent;
    #: each keeps only its latest figures, so this bounds a slow page's memory
    client_backlog: int = Field(10_000, ge=8, le=100_000)
    thresholds: dict[Figure, Threshold] = Field(default_factory=_thresholds)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str | None) -> str | None:
        if value is None:
            return None
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"listen must be HOST:PORT (e.g. 127.0.0.1:8080), not {value!r}")
        return value

    @property
    def address(self) -> tuple[str, int]:
        assert self.listen is not None
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


class DemoSettings(_Strict):
    #: where the demo writes its JSON log and the simulated Asterisk's recordings
    #: (relative to the config directory)
    files: str = "../var"
    callers_per_minute: float = Field(60.0, gt=0, le=6000)
    speed: float = Field(1.0, gt=0, le=100)
    status_every: float = Field(1.0, gt=0)
    #: the demo's calendar starts here (ISO 8601): the IVR's business hours and the
    #: dialer's calling hours are read against it, so both run whatever the real time;
    #: none: the real time
    calendar: str | None = None


class Settings(_Strict):
    ami: AmiSettings = AmiSettings()
    database: DatabaseSettings = DatabaseSettings()
    mqtt: MqttSettings = MqttSettings()
    log: LogSettings = LogSettings()
    greeting: GreetingSettings = GreetingSettings()
    ivr: IvrSettings = IvrSettings()
    hours: HoursSettings = HoursSettings()
    acd: AcdSettings = AcdSettings()
    recording: RecordingSettings = RecordingSettings()
    dialer: DialerSettings = DialerSettings()
    demo: DemoSettings = DemoSettings()
    reports: ReportSettings = ReportSettings()
    http: HttpSettings = HttpSettings()
    config_dir: str = ""  # where the settings were read from (set by load_settings)

    def path(self, name: str | None) -> Path | None:
        if not name:
            return None
        path = Path(name)
        return path if path.is_absolute() else Path(self.config_dir or ".") / path

    def ivr_path(self) -> Path | None:
        return self.path(self.ivr.file)


ENV_OVERRIDES = {
    "AMI_URL": ("ami", "url"),
    "DATABASE_URL": ("database", "url"),
    "MQTT_URL": ("mqtt", "url"),
    "MQTT_PREFIX": ("mqtt", "prefix"),
    "MQTT_USERNAME": ("mqtt", "username"),
    "MQTT_PASSWORD_FILE": ("mqtt", "password_file"),
    "LOG_LEVEL": ("log", "level"),
    "HTTP_LISTEN": ("http", "listen"),
}


def load_settings(config_dir: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    path = (config_dir or DEFAULT_CONFIG_DIR) / "engine.yaml"
    base = load_model(Settings, path) if path.exists() else Settings()
    base = base.model_copy(update={"config_dir": str(config_dir or DEFAULT_CONFIG_DIR)})
    data = base.model_dump()
    used = []
    if env.get("MQTT_PASSWORD"):
        data["mqtt"]["password_env"] = env["MQTT_PASSWORD"]
        used.append("MQTT_PASSWORD")
    for var, (section, key) in ENV_OVERRIDES.items():
        if env.get(var):
            data[section][key] = env[var]
            used.append(var)
    if not used:
        return base
    try:
        return validate(Settings, data, None, f"environment ({', '.join(used)})")
    except ConfigError:
        raise

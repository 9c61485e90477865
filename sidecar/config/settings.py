"""The settings of ``sidecar run`` and ``sidecar join``: :class:`Settings`, loaded once from a YAML file and
``SIDECAR_*`` variables, and :class:`StoreLocation`, the part batch code reads to find the store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from sidecar.config.sections import (
    AlertSettings,
    HttpSettings,
    IngestSettings,
    JoinSettings,
    KafkaSettings,
    PublishSettings,
    Section,
    StoreSettings,
    TopicSettings,
    WindowSettings,
)
from sidecar.config.sla import SlaSettings, check_sla_settings
from sidecar.errors import ConfigurationError

__all__ = ["FileSettings", "Settings", "StoreLocation", "read_config_file"]


class FileSettings(BaseSettings):
    """Settings read from a YAML file (passed in as keyword arguments) and ``SIDECAR_*`` variables, the
    variables winning (twelve-factor); the base of every command's settings."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init kwargs; the environment must beat them.
        return env_settings, init_settings, file_secret_settings


class Settings(FileSettings):
    """Everything ``sidecar run`` needs. Load with :meth:`load`."""

    model_config = SettingsConfigDict(env_prefix="SIDECAR_", env_nested_delimiter="__", extra="forbid")

    model: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    inputs: TopicSettings | None = None
    predictions: TopicSettings | None = None
    window: WindowSettings = Field(default_factory=WindowSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    publish: PublishSettings = Field(default_factory=PublishSettings)
    join: JoinSettings | None = None
    sla: SlaSettings = Field(
        default_factory=dict,
        description="production-metric bounds by metric name (accuracy: {warning: 0.85, critical: 0.8}); "
        "see sidecar.performance.sla",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("sla")
    @classmethod
    def _judgeable_slas(cls, value: SlaSettings) -> SlaSettings:
        check_sla_settings(value)
        return value

    @model_validator(mode="after")
    def _needs_a_topic(self) -> Settings:
        if self.inputs is None and self.predictions is None and self.join is None:
            raise ValueError("configure at least one of 'inputs' and 'predictions' (or 'join' for sidecar join)")
        if self.join is not None:
            # The joiner reads the sidecar's predictions topic unless told otherwise.
            if self.join.predictions_topic is None:
                self.join.predictions_topic = (self.predictions.topic if self.predictions is not None
                                               else f"{self.model}.predictions")
            if self.join.outcomes_topic is None:
                self.join.outcomes_topic = f"{self.model}.outcomes"
            if self.join.format is None:
                self.join.format = self.predictions.format if self.predictions is not None else "auto"
        if self.kafka.group_id is None:
            self.kafka.group_id = f"model-health-{self.model}"
        return self

    @property
    def topics(self) -> list[tuple[str, TopicSettings]]:
        """``[("inputs", ...), ("predictions", ...)]`` for the configured ones."""
        return [(role, t) for role, t in (("inputs", self.inputs), ("predictions", self.predictions)) if t]

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None, *, streams: bool = True) -> Settings:
        """Settings from a YAML file (optional) overridden by ``SIDECAR_*`` variables.

        ``streams`` (``sidecar run``) requires ``inputs`` or ``predictions``; ``sidecar join`` passes False,
        since its file may have only ``model``, ``kafka`` and ``join``. Raises :class:`ConfigurationError`
        with one line per problem, naming the key.
        """
        data, where = read_config_file(path)
        try:
            settings = cls(**data)
        except ValidationError as exc:
            hint = ""
            if path is None and any(e["type"] == "missing" for e in exc.errors()):
                # The usual first run: no file and no SIDECAR_* variables. Say how to give settings.
                hint = ("; pass a settings file with --config FILE (e.g. sidecar run --config sidecar.yaml; see "
                        "the README's sidecar section) or set SIDECAR_* variables such as SIDECAR_MODEL")
            raise ConfigurationError(f"invalid settings ({where}): {_problems(exc)}{hint}") from exc
        if streams and not settings.topics:
            raise ConfigurationError(f"invalid settings ({where}): (top): configure at least one of 'inputs' and "
                                     "'predictions' (a file with only 'join' is for sidecar join)")
        return settings


class StoreLocation(Section):
    """What batch code needs to find the sidecar's store: ``store`` and, when known, ``model``; and ``publish``
    (``control_url``, ``token``), where a control room takes the production metrics too.

    ``track_production_metrics`` and ``get_production_metrics`` use it, so they resolve the same directory as
    the sidecar: from a :class:`Settings` (:meth:`of`) or from the same ``SIDECAR_STORE__*`` and
    ``SIDECAR_MODEL`` variables (:meth:`load`), without needing the rest of the sidecar's settings.
    """

    model: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    store: StoreSettings = Field(default_factory=StoreSettings)
    publish: PublishSettings = Field(default_factory=PublishSettings)

    @classmethod
    def of(cls, settings: Settings) -> StoreLocation:
        """The store, model and publishing of the sidecar's settings."""
        return cls(model=settings.model, store=settings.store, publish=settings.publish)

    @classmethod
    def load(cls) -> StoreLocation:
        """From the environment, read by :class:`Settings`' own source (same prefix and ``__`` nesting).

        Raises :class:`ConfigurationError` naming the key (e.g. ``store.path``) if a value is invalid.
        """
        try:
            env = EnvSettingsSource(Settings)()
            return cls(model=env.get("model"), store=env.get("store") or {}, publish=env.get("publish") or {})
        except ValidationError as exc:
            raise ConfigurationError(f"invalid settings (environment): {_problems(exc)}") from exc
        except SettingsError as exc:  # a SIDECAR_<SECTION> variable that is not valid JSON
            raise ConfigurationError(f"invalid settings (environment): {exc}") from exc

    @classmethod
    def load_publish(cls) -> PublishSettings:
        """Only the ``publish`` section from the environment (``SIDECAR_PUBLISH__*``), for batch code that
        names its store and model itself. Raises :class:`ConfigurationError` naming the key."""
        try:
            return PublishSettings(**(EnvSettingsSource(Settings)().get("publish") or {}))
        except ValidationError as exc:
            problems = "; ".join(f"publish.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise ConfigurationError(f"invalid settings (environment): {problems}") from exc
        except SettingsError as exc:
            raise ConfigurationError(f"invalid settings (environment): {exc}") from exc


def read_config_file(path: str | os.PathLike[str] | None) -> tuple[dict[str, Any], str]:
    """The mapping a YAML config file holds (empty without a file) and where the settings come from, for
    messages; raises :class:`ConfigurationError` for a missing file, bad YAML or a non-mapping top level.
    ``sidecar run``, ``sidecar join`` and ``sidecar serve`` all read their files through it."""
    if path is None:
        return {}, "environment"
    where = os.fspath(path)
    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"config file {where!r} does not exist") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"config file {where!r} is not valid YAML: {exc}") from exc
    if loaded is not None and not isinstance(loaded, dict):
        raise ConfigurationError(f"config file {where!r}: expected a mapping at the top level")
    return loaded or {}, where


def _problems(exc: ValidationError) -> str:
    """One ``key: message`` per problem, keys dotted (``kafka.bogus``)."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors())

"""The deposit ledger and its steps: intake, sending, reconciliation, returns, PAS rates,
deadlines, alerts. Orchestrates through the Protocols of :mod:`dsnlink.pipeline.ports`."""

from dsnlink.pipeline.context import Pipeline, PipelineConfig
from dsnlink.pipeline.intake import Intake, receive
from dsnlink.pipeline.states import EnvoiState

__all__ = ["EnvoiState", "Intake", "Pipeline", "PipelineConfig", "receive"]

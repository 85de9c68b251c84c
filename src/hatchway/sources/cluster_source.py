"""The runtime's input under `controller`: the cluster cache as last parsed (the controller
sets it after each refresh, with the translation settings that go with it). The API server
keeps `metadata.generation`, so the snapshot is used as it is."""

from __future__ import annotations

from hatchway.model.documents import InputError
from hatchway.model.snapshot import Snapshot
from hatchway.sources.file_source import Loaded
from hatchway.translate import Settings as TranslateSettings


class ClusterSource:
    def __init__(self, settings: TranslateSettings) -> None:
        self.snapshot = Snapshot()
        self.errors: tuple[InputError, ...] = ()
        self.settings = settings  # what the controller knows about addresses, for this snapshot

    def load(self) -> Loaded:
        return Loaded(self.snapshot, self.errors, settings=self.settings)

    def commit(self, loaded: Loaded) -> None:
        pass

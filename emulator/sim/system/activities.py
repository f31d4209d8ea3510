"""Tasks and the activity stack: the launcher's home task at the bottom, the foreground task on top."""

from __future__ import annotations

from dataclasses import dataclass

FIRST_TASK_ID = 100


def object_hash(n: int) -> str:
    """A deterministic stand-in for Java's identityHashCode in dumpsys lines (7-8 hex digits)."""
    return f"{(0x2c1f3a7 + n * 0x9e3779b) & 0xFFFFFFF:x}"


@dataclass
class Task:
    task_id: int
    package: str
    activity: str  # fixed for system tasks; app tasks ask the runtime for the resumed activity
    record_hash: str
    window_hash: str
    target: str = ""  # Settings app-info page: the package it shows


class ActivityStack:
    def __init__(self, launcher_package: str, launcher_activity: str) -> None:
        self._next_task = FIRST_TASK_ID
        self._next_hash = 1
        self.home = self._make(launcher_package, launcher_activity)
        self.tasks: list[Task] = [self.home]  # bottom to top

    def _make(self, package: str, activity: str, target: str = "") -> Task:
        task = Task(self._next_task, package, activity, object_hash(self._next_hash),
                    object_hash(self._next_hash + 1), target)
        self._next_task += 1
        self._next_hash += 2
        return task

    def top(self) -> Task:
        return self.tasks[-1]

    def find(self, package: str) -> Task | None:
        return next((t for t in self.tasks if t.package == package), None)

    def open(self, package: str, activity: str, target: str = "") -> tuple[Task, bool]:
        """Bring the package's task to the front, creating it if needed. Returns (task, created)."""
        task = self.find(package)
        created = task is None or (target and task.target != target)
        if created:
            if task is not None:
                self.tasks.remove(task)
            task = self._make(package, activity, target)
        else:
            self.tasks.remove(task)
        self.tasks.append(task)
        return task, bool(created)

    def go_home(self) -> None:
        self.tasks.remove(self.home)
        self.tasks.append(self.home)

    def move_to_back(self, package: str) -> None:
        task = self.find(package)
        if task is not None and task is not self.home:
            self.tasks.remove(task)
            self.tasks.insert(0, task)
            self.go_home()

    def remove(self, package: str) -> Task | None:
        """The package's task ends (its last activity finished, or the process died). A task started from the
        launcher returns to home when it ends, as Android does: the task below it (another app) stays behind."""
        task = self.find(package)
        if task is not None and task is not self.home:
            was_top = task is self.top()
            self.tasks.remove(task)
            if self.home not in self.tasks:
                self.tasks.append(self.home)
            elif was_top:
                self.go_home()
            return task
        return None

    def visible_top(self) -> Task:
        return self.tasks[-1]

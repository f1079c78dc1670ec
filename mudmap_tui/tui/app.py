"""The full-screen app: the inventory as a tree of groups and devices."""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, Tree

from mudmap_tui.inventory import InventorySnapshot, describe_device, load_inventory

STYLES_DIR = Path(__file__).resolve().parents[2] / "styles"


class MudmapApp(App[None]):
    """Inventory browser: groups and devices on the left, the selected device's details."""

    CSS_PATH = STYLES_DIR / "app.tcss"
    TITLE = "Mudmap"
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("r", "reload", "Reload", id="app.reload"),
    ]

    def __init__(self, db_path: Path) -> None:
        super().__init__()
        self.db_path = db_path
        self.inventory: InventorySnapshot | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield Tree("Inventory", id="devices")
            yield DataTable(id="details", show_cursor=False)
        yield Footer()

    def on_mount(self) -> None:
        details = self.query_one("#details", DataTable)
        details.add_columns("Field", "Value")
        self.action_reload()

    def action_reload(self) -> None:
        """Read the inventory file again and rebuild the tree."""
        self.inventory = load_inventory(self.db_path)
        self.sub_title = f"{self.db_path} · {len(self.inventory.devices)} devices"
        tree: Tree[str] = self.query_one("#devices", Tree)
        tree.clear()
        tree.root.expand()
        for group, names in self.inventory.groups.items():
            branch = tree.root.add(f"{group} ({len(names)})", expand=True)
            for name in names:
                branch.add_leaf(name, data=name)
        tree.focus()

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[str]) -> None:
        details = self.query_one("#details", DataTable)
        details.clear()
        if self.inventory is None or event.node.data is None:
            return
        for label, value in describe_device(self.inventory.devices[event.node.data]):
            details.add_row(label, value)

"""The device tree: groups, their devices with state glyph and word, and each device's
interfaces once they have been read."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from mudmap_tui.fleet_state import FleetState
from mudmap_tui.inventory import InventorySnapshot
from mudmap_tui.tui.bindings import bindings_for

MARK = "*"
# Inventories up to this many devices open with every group expanded.
AUTO_EXPAND_MAX = 200


@dataclass(frozen=True)
class NodeRef:
    """The subject of a tree node: a group, a device (within a group) or an interface."""

    kind: str
    name: str
    group: str = ""
    device: str = ""


class DeviceTree(Tree[NodeRef]):
    """Groups → devices → interfaces; marks and a name filter apply to devices."""

    BINDINGS = bindings_for("devices")

    def __init__(self, **options: object) -> None:
        super().__init__("Inventory", **options)  # type: ignore[arg-type]
        self.show_root = False
        self.guide_depth = 2
        self.marked: set[str] = set()
        self.filter_text = ""
        self._inventory: InventorySnapshot | None = None
        self._state: FleetState | None = None
        self._device_nodes: dict[str, list[TreeNode[NodeRef]]] = {}

    def populate(self, inventory: InventorySnapshot, state: FleetState) -> None:
        """Rebuild the tree from the inventory, keeping the cursor on the same device."""
        selected = self.selected_device
        self._inventory = inventory
        self._state = state
        self.marked &= set(inventory.devices)
        self.clear()
        self._device_nodes = {}
        # A big inventory opens with its groups collapsed: the tree then lays out a line
        # per group instead of one per device. A filter shows its matches expanded.
        expand = len(inventory.devices) <= AUTO_EXPAND_MAX or bool(self.filter_text)
        for group, names in inventory.groups.items():
            matching = [name for name in names if self._matches(name)]
            if not matching:
                continue
            branch = self.root.add(f"{group} ({len(matching)})", NodeRef("group", group),
                                   expand=expand)
            for name in matching:
                node = branch.add(self._device_label(name), NodeRef("device", name, group))
                self._device_nodes.setdefault(name, []).append(node)
                self._add_interfaces(node, name)
        self.root.expand()
        if selected:
            self.select_device(selected)

    def _matches(self, name: str) -> bool:
        return not self.filter_text or self.filter_text.lower() in name.lower()

    def _device_label(self, name: str) -> Text:
        status = self._state.status(name) if self._state else None
        glyph = status.state.glyph if status else "·"
        word = status.state.word if status else "not checked yet"
        mark = f"{MARK} " if name in self.marked else ""
        label = Text(f"{mark}{glyph} {name} ")
        label.append(word, style="italic")
        return label

    def _add_interfaces(self, node: TreeNode[NodeRef], name: str) -> None:
        """Let the node expand when interfaces are known; the leaves come on expanding.

        Adding leaves lazily keeps a tree of 1,000 devices with 20 interfaces each from
        building 20,000 nodes that are never displayed.
        """
        status = self._state.devices.get(name) if self._state else None
        node.allow_expand = bool(status and status.interfaces)
        if node.is_expanded:
            self._fill_interfaces(node, name)

    def _fill_interfaces(self, node: TreeNode[NodeRef], name: str) -> None:
        status = self._state.devices.get(name) if self._state else None
        group = node.data.group if node.data else ""
        for row in status.interfaces if status else []:
            node.add_leaf(f"{row.name} {row.kind} {row.state}",
                          NodeRef("interface", row.name, group, name))

    def _on_tree_node_expanded(self, event: Tree.NodeExpanded[NodeRef]) -> None:
        node = event.node
        if node.data is not None and node.data.kind == "device" and not node.children:
            self._fill_interfaces(node, node.data.name)

    def refresh_device(self, name: str) -> None:
        """Redraw one device's label and interfaces after its status changed."""
        for node in self._device_nodes.get(name, []):
            node.set_label(self._device_label(name))
            if node.children:
                node.remove_children()
            self._add_interfaces(node, name)

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        if self._inventory is not None and self._state is not None:
            self.populate(self._inventory, self._state)

    @property
    def hidden_count(self) -> int:
        """Return how many devices the filter hides."""
        if self._inventory is None:
            return 0
        return sum(1 for name in self._inventory.devices if not self._matches(name))

    @property
    def hidden_marked(self) -> int:
        return sum(1 for name in self.marked if not self._matches(name))

    def visible_devices(self) -> list[str]:
        """Return the devices whose group is expanded, each once, in tree order."""
        names: dict[str, None] = {}
        for branch in self.root.children:
            if branch.is_expanded:
                for node in branch.children:
                    if node.data is not None and node.data.kind == "device":
                        names[node.data.name] = None
        return list(names)

    @property
    def selected_ref(self) -> NodeRef | None:
        node = self.cursor_node
        return node.data if node is not None else None

    @property
    def selected_device(self) -> str | None:
        ref = self.selected_ref
        if ref is None:
            return None
        return ref.name if ref.kind == "device" else (ref.device or None)

    @property
    def selected_group(self) -> str | None:
        ref = self.selected_ref
        if ref is None:
            return None
        return ref.name if ref.kind == "group" else ref.group or None

    def select_device(self, name: str) -> bool:
        nodes = self._device_nodes.get(name)
        if not nodes:
            return False
        parent = nodes[0].parent
        if parent is not None and not parent.is_expanded:
            # The node gets its line only when the tree lays out the expanded group.
            parent.expand()
            self.call_after_refresh(self.move_cursor, nodes[0])
        else:
            self.move_cursor(nodes[0])
        return True

    def toggle_mark(self) -> list[str]:
        """Mark or unmark the device under the cursor, or every device of a group."""
        ref = self.selected_ref
        if ref is None or self._inventory is None:
            return []
        if ref.kind == "group":
            names = [n for n in self._inventory.groups.get(ref.name, []) if self._matches(n)]
        else:
            names = [ref.device or ref.name] if ref.kind == "interface" else [ref.name]
        if all(name in self.marked for name in names):
            self.marked.difference_update(names)
        else:
            self.marked.update(names)
        for name in names:
            for node in self._device_nodes.get(name, []):
                node.set_label(self._device_label(name))
        return names

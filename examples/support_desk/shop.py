"""The shop: orders in SQLite, and the tools the agents may use on them.

Every tool takes the customer from the run context (`context: ShopContext`), never from the model: a
parameter named `context` is not in the tool's schema, so the model cannot fill it in, and each query is
limited to that customer's orders.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from agentsilex import tool

ORDERS = [  # (id, customer, item, amount in cents, status, parcel)
    (1, "alice", "kettle", 3990, "delivered", "DHL 5501"),
    (2, "alice", "teapot", 2450, "shipped", "DHL 5502"),
    (3, "bob", "espresso machine", 48900, "delivered", "UPS 7710"),
]


@dataclass
class ShopContext:
    """Who is chatting, and where the shop's data is: set by the app, never by the model."""

    customer_id: str
    database: Path


def create_shop(database: Path) -> None:
    """Create the orders database with a few orders (idempotent)."""
    with sqlite3.connect(database) as db:
        db.executescript("""
            CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, customer TEXT, item TEXT, amount INTEGER,
                                               status TEXT, parcel TEXT);
            CREATE TABLE IF NOT EXISTS refunds (order_id INTEGER PRIMARY KEY, amount INTEGER, reason TEXT);
        """)
        db.executemany("INSERT OR IGNORE INTO orders VALUES (?, ?, ?, ?, ?, ?)", ORDERS)


def _order(context: ShopContext, order_id: int) -> sqlite3.Row:
    with sqlite3.connect(context.database) as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM orders WHERE id = ? AND customer = ?",
                         (order_id, context.customer_id)).fetchone()
    if row is None:  # another customer's order looks exactly like a missing one
        raise LookupError(f"there is no order {order_id} for this customer")
    return row


@tool
def list_orders(context: ShopContext) -> list[dict]:
    """The customer's orders: id, item, amount and status."""
    with sqlite3.connect(context.database) as db:
        rows = db.execute("SELECT id, item, amount, status FROM orders WHERE customer = ? ORDER BY id",
                          (context.customer_id,)).fetchall()
    return [{"id": i, "item": item, "amount": f"{amount / 100:.2f} EUR", "status": status}
            for i, item, amount, status in rows]


@tool
def order_status(context: ShopContext, order_id: int) -> str:
    """Status of one of the customer's orders.

    Args:
        order_id: The order number.
    """
    row = _order(context, order_id)
    return f"order {row['id']}: {row['item']}, {row['amount'] / 100:.2f} EUR, {row['status']}"


@tool
def track_parcel(context: ShopContext, order_id: int) -> str:
    """Where the parcel of one of the customer's orders is.

    Args:
        order_id: The order number.
    """
    row = _order(context, order_id)
    where = "delivered" if row["status"] == "delivered" else "on its way, expected in 2 days"
    return f"order {row['id']} ({row['item']}): parcel {row['parcel']}, {where}"


@tool(needs_approval=True)
def refund_order(context: ShopContext, order_id: int, reason: str) -> str:
    """Refund one of the customer's orders in full. A human approves every refund before it happens.

    Args:
        order_id: The order number.
        reason: Why the customer wants the money back.
    """
    row = _order(context, order_id)
    with sqlite3.connect(context.database) as db:
        # The primary key makes a second refund of one order impossible, whatever happens upstream.
        db.execute("INSERT INTO refunds VALUES (?, ?, ?)", (order_id, row["amount"], reason))
        db.execute("UPDATE orders SET status = 'refunded' WHERE id = ?", (order_id,))
    return f"refunded {row['amount'] / 100:.2f} EUR for order {order_id}"


def refunds(database: Path) -> list[tuple[int, int]]:
    """(order id, amount) of every refund made."""
    with sqlite3.connect(database) as db:
        return db.execute("SELECT order_id, amount FROM refunds ORDER BY order_id").fetchall()

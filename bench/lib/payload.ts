// A realistic small transactional message: one named recipient, a subject and ~1 KB of HTML with
// Liquid placeholders, and the substitution data to fill them.
export const FROM_DOMAIN = 'shop.bench.example';

const HTML = `<!doctype html><html><body style="font-family:Arial,sans-serif;color:#222">
<h1 style="font-size:20px">Thanks for your order, {{firstName}}!</h1>
<p>Your order <strong>#{{orderId}}</strong> was received on {{orderDate}} and is being prepared.
We will send another message with the tracking link as soon as it ships.</p>
<table style="border-collapse:collapse;width:100%">
<tr><th align="left">Item</th><th align="right">Qty</th><th align="right">Price</th></tr>
<tr><td>{{item}}</td><td align="right">{{quantity}}</td><td align="right">{{total}}</td></tr>
</table>
<p>Delivery address:<br>{{firstName}} {{lastName}}<br>{{street}}<br>{{city}}</p>
<p>Questions? Reply to this message or visit <a href="https://shop.bench.example/help">our help centre</a>.
Our support team answers within one working day.</p>
<p style="font-size:12px;color:#777">You receive this message because you placed an order at Bench Shop.
Bench Shop, 1 Example Street, 12345 Example City.</p>
</body></html>`;

export function substitutionData(i: number): Record<string, string | number> {
  return {
    firstName: `Customer${i}`,
    lastName: 'Example',
    orderId: 100000 + i,
    orderDate: '2025-01-15',
    item: 'Ergonomic keyboard',
    quantity: 1,
    total: '€89.00',
    street: `${i % 200} Long Road`,
    city: 'Example City',
  };
}

/** The accept benchmark's body: one recipient. */
export function singleRecipientBody(): string {
  return JSON.stringify({
    from: { email: `orders@${FROM_DOMAIN}`, name: 'Bench Shop' },
    to: [{ email: 'customer@example.net', name: 'Customer Example' }],
    subject: 'Your order #{{orderId}} was received',
    bodyHtml: HTML,
    substitutionData: substitutionData(1),
  });
}

/** The delivery benchmark's body: `count` recipients, each with its own substitution data. */
export function manyRecipientsBody(first: number, count: number): string {
  return JSON.stringify({
    from: { email: `orders@${FROM_DOMAIN}`, name: 'Bench Shop' },
    to: Array.from({ length: count }, (_, k) => ({
      email: `customer${first + k}@example.net`,
      name: `Customer ${first + k}`,
      substitutionData: { firstName: `Customer${first + k}`, orderId: 100000 + first + k },
    })),
    subject: 'Your order #{{orderId}} was received',
    bodyHtml: HTML,
    substitutionData: substitutionData(0),
  });
}

export const HTML_BYTES = Buffer.byteLength(HTML);

// Webhook targets must not reach into the operator's own network (SSRF): loopback, private,
// link-local, unique-local, carrier-grade NAT, multicast and reserved ranges are refused unless the
// operator allows them. Only public unicast addresses pass.
import ipaddr from 'ipaddr.js';

/** True for any address that is not public unicast; unparsable input counts as private. */
export function isPrivateAddress(ip: string): boolean {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // process() turns IPv4-mapped IPv6 (::ffff:10.0.0.1) into the IPv4 address it carries.
    addr = ipaddr.process(ip.replace(/^\[|\]$/g, ''));
  } catch {
    return true;
  }
  return addr.range() !== 'unicast';
}

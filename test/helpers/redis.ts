// The Redis the limit tests share counters through (POSTHORN_TEST_REDIS_URL, else the local one),
// and whether it answers: without it the Redis runs of those tests are skipped, with a warning.
import net from 'node:net';

export const REDIS_URL = process.env.POSTHORN_TEST_REDIS_URL || 'redis://127.0.0.1:6379';

async function redisReachable(): Promise<boolean> {
  const url = new URL(REDIS_URL);
  return new Promise((resolve) => {
    const socket = net.connect(Number(url.port || 6379), url.hostname, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

export const haveRedis = await redisReachable();
if (!haveRedis) console.warn(`Redis is not reachable at ${REDIS_URL}: the Redis runs of the limit tests are skipped`);

/** A TCP relay to Redis whose connections the test can cut, as a network failure or a Redis restart would. */
export async function cuttableRelay(target: URL) {
  const sockets = new Set<net.Socket>();
  let open = true;
  const server = net.createServer((client) => {
    if (!open) return client.destroy();
    const upstream = net.connect(Number(target.port || 6379), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    /** Drops every connection and refuses new ones until heal(). */
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    heal() {
      open = true;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

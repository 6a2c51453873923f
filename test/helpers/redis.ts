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

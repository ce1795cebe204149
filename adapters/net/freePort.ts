import net from 'node:net';

/**
 * A TCP port that is free on `host` right now (the OS picks it). Another process can still take it
 * before the caller binds it; callers that start servers must report a bind failure clearly.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close((err) => (err ? reject(err) : port ? resolve(port) : reject(new Error('could not pick a free port'))));
    });
  });
}

/** Throws a clear error naming the port when something already listens on `host:port`. */
export async function assertPortFree(port: number, what: string, host = '127.0.0.1'): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new Error(`${what}: port ${port} on ${host} is already in use (is another instance running? pick another port)`));
      } else {
        reject(new Error(`${what}: cannot bind port ${port} on ${host}: ${err.message}`));
      }
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve()));
  });
}

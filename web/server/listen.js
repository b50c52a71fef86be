// Starting an http.Server as a promise: resolves with the port it got,
// rejects with the listen error (EADDRINUSE, EACCES, ...).

/** @param {import('node:http').Server} server */
export function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    const onError = (err) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve(server.address().port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

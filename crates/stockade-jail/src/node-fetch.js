// Loaded into every jailed node (NODE_OPTIONS=--require) when the run has
// a network. Node's built-in fetch (undici) ignores HTTP_PROXY and
// HTTPS_PROXY, and the jail has no route and no resolver, so without this
// every fetch fails. This sends fetch through stockade's egress proxy: a
// CONNECT tunnel for https (the TLS stays node's own, checked against the
// roots plus NODE_EXTRA_CA_CERTS), and absolute-form requests for http, as
// curl sends them. Nothing here widens what the policy allows: the proxy
// vets every destination. If this node's fetch cannot be routed, fetch
// rejects with the reason rather than trying another way out.
'use strict';
(() => {
  const realFetch = globalThis.fetch;
  if (typeof realFetch !== 'function') return;
  const net = require('node:net');
  const tls = require('node:tls');
  const proxy = new URL(process.env.HTTPS_PROXY || process.env.https_proxy || 'http://127.0.0.1:3128');
  const proxyHost = proxy.hostname;
  const proxyPort = Number(proxy.port) || 80;
  // The key node's undici keeps its global dispatcher under.
  const key = Symbol.for('undici.globalDispatcher.1');

  function authority(hostname, port) {
    return (hostname.includes(':') && !hostname.startsWith('[') ? `[${hostname}]` : hostname) + ':' + port;
  }

  // Opens a tunnel to `target` through the proxy; calls back with the
  // socket once the proxy said 200, or with the proxy's reason.
  function tunnel(target, callback) {
    const socket = net.connect(proxyPort, proxyHost);
    let head = Buffer.alloc(0);
    let done = false;
    const finish = (error, value) => {
      if (done) return;
      done = true;
      socket.removeListener('data', onData);
      if (error) socket.destroy();
      callback(error, value);
    };
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 65536) finish(new Error('stockade: the proxy sent an overlong answer'));
        return;
      }
      const text = head.subarray(0, end).toString('latin1');
      const status = Number(text.split(' ')[1]);
      if (status !== 200) {
        const reason = head.subarray(end + 4).toString('utf8').trim() || text.split('\r\n')[0];
        const error = new Error(reason);
        error.code = 'STOCKADE_REFUSED';
        return finish(error);
      }
      const rest = head.subarray(end + 4);
      socket.removeListener('error', finish);
      finish(null, socket);
      if (rest.length) socket.unshift(rest);
    };
    socket.on('data', onData);
    socket.once('error', finish);
    socket.once('connect', () => socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`));
  }

  // undici's `connect` hook: every https origin's socket is a tunnel with
  // node's TLS inside.
  function connectThroughProxy(options, callback) {
    const port = Number(options.port) || 443;
    tunnel(authority(options.hostname, port), (error, socket) => {
      if (error) return callback(error);
      const servername = options.servername || (net.isIP(options.hostname) ? undefined : options.hostname);
      const secure = tls.connect({ socket, servername, ALPNProtocols: ['http/1.1'] });
      const failed = (e) => callback(e);
      secure.once('error', failed);
      secure.once('secureConnect', () => {
        secure.removeListener('error', failed);
        callback(null, secure);
      });
    });
  }

  // A plain http request goes to the proxy in absolute form, with the Host
  // of its own origin (the proxy checks that the two agree).
  function withHost(headers, host) {
    if (headers == null) return { host };
    if (Array.isArray(headers)) {
      const flat = headers.flat();
      for (let i = 0; i < flat.length; i += 2) if (String(flat[i]).toLowerCase() === 'host') return headers;
      return [...flat, 'host', host];
    }
    for (const name of Object.keys(headers)) if (name.toLowerCase() === 'host') return headers;
    return { ...headers, host };
  }

  let routed;
  function route() {
    // undici makes its Agent at the first request; one to a closed port
    // of the jail's own loopback brings it about without leaving the jail.
    routed ??= realFetch('http://127.0.0.1:1/').then(() => {}, () => {}).then(() => {
      const made = globalThis[key];
      const Agent = made && made.constructor;
      if (typeof Agent !== 'function' || typeof made.dispatch !== 'function') {
        throw new Error(`stockade: this node's fetch (${process.version}) cannot be sent through the sandbox's proxy`);
      }
      const secure = new Agent({ connect: connectThroughProxy });
      const plain = new Agent();
      const proxyOrigin = `http://${authority(proxyHost, proxyPort)}`;
      globalThis[key] = {
        dispatch(options, handler) {
          const origin = new URL(String(options.origin));
          if (origin.protocol !== 'http:') return secure.dispatch(options, handler);
          const forwarded = {
            ...options,
            origin: proxyOrigin,
            path: origin.origin + options.path,
            headers: withHost(options.headers, origin.host),
          };
          return plain.dispatch(forwarded, handler);
        },
        close: () => Promise.all([secure.close(), plain.close()]),
        destroy: (error) => Promise.all([secure.destroy(error), plain.destroy(error)]),
        on() { return this; },
        once() { return this; },
        off() { return this; },
        emit() { return false; },
      };
    });
    return routed;
  }

  const fetch = async function fetch(input, init) {
    await route();
    return realFetch(input, init);
  };
  Object.defineProperty(globalThis, 'fetch', { value: fetch, writable: true, configurable: true, enumerable: true });
})();

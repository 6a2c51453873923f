// smtp-server waits 100 ms before its greeting to catch clients that talk before they are greeted
// (spam software at an MX). A submission server has no use for it: its clients authenticate, and the
// pause would cost every connection 100 ms — ten messages a second per connection for a client
// that sends one message per connection (smtp-source, many application mailers).
// This server greets at once; everything else is smtp-server's own code path. The pause's timer
// still fires and then finds the connection already greeted.
import type net from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

interface Greetable {
  connectionReady(next?: () => void): void;
}

export class PromptSmtpServer extends SMTPServer {
  private lastAdded: Greetable | null = null;

  constructor(options: SMTPServerOptions) {
    super(options);
    // connect() adds each new connection to this set: remember it to greet it.
    const set = this.connections as Set<unknown>;
    const add = set.add.bind(set);
    set.add = (connection: unknown) => {
      this.lastAdded = connection as Greetable;
      return add(connection);
    };
  }

  override connect(socket: net.Socket, socketOptions?: Parameters<SMTPServer['connect']>[1]): void {
    super.connect(socket, socketOptions);
    const connection = this.lastAdded;
    this.lastAdded = null;
    // With implicit TLS the greeting must wait for the handshake, which smtp-server's own path does.
    if (!connection || this.options.secure) return;
    const ready = connection.connectionReady.bind(connection);
    let greeted = false;
    connection.connectionReady = (next) => {
      if (greeted) return;
      greeted = true;
      ready(next);
    };
    connection.connectionReady();
  }
}

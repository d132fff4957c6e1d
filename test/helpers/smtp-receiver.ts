import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  /** Header lines, lower-cased names, unfolded. */
  headers: Record<string, string>;
  subject: string;
  body: string;
}

/**
 * A real SMTP server (the `smtp-server` package) on loopback that records every message, for the
 * email notifier's tests. `rejectRecipients` answers 550 to those addresses (a permanent failure).
 */
export class SmtpReceiver {
  readonly messages: ReceivedMail[] = [];
  private server?: SMTPServer;
  port = 0;

  constructor(private readonly options: { rejectRecipients?: string[] } = {}) {}

  /** port: the one it had before a stop (a mail server back from an outage at its address). */
  async start(port = 0): Promise<this> {
    const opts: SMTPServerOptions = {
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onRcptTo: (address, _session, cb) => {
        if (this.options.rejectRecipients?.includes(address.address)) {
          const err = new Error('mailbox unavailable') as Error & { responseCode: number };
          err.responseCode = 550;
          cb(err);
          return;
        }
        cb();
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const [head, ...rest] = raw.split(/\r?\n\r?\n/);
          const headers: Record<string, string> = {};
          for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
            const i = line.indexOf(':');
            if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
          }
          this.messages.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            headers,
            subject: headers.subject ?? '',
            body: rest.join('\n\n'),
          });
          cb();
        });
      },
    };
    this.server = new SMTPServer(opts);
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    const addr = (this.server as unknown as { server: import('node:net').Server }).server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }
}

/** The decoded parts of a (possibly multipart) message: its content type and text (with \n line ends). */
export function mimeParts(mail: ReceivedMail): { contentType: string; text: string }[] {
  const decode = (headers: string, body: string) => decodeBody(headers, body).replace(/\r\n/g, '\n');
  const decodeBody = (headers: string, body: string) => {
    const enc = /content-transfer-encoding:\s*([\w-]+)/i.exec(headers)?.[1]?.toLowerCase();
    if (enc === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    if (enc === 'quoted-printable')
      return Buffer.from(
        body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, h) => String.fromCharCode(parseInt(h, 16))),
        'latin1',
      ).toString('utf8');
    return body;
  };
  const boundary = /boundary="?([^";]+)"?/i.exec(mail.headers['content-type'] ?? '')?.[1];
  if (!boundary)
    return [
      {
        contentType: mail.headers['content-type'] ?? 'text/plain',
        text: decode(`content-transfer-encoding: ${mail.headers['content-transfer-encoding'] ?? ''}`, mail.body),
      },
    ];
  return mail.body
    .split(`--${boundary}`)
    .slice(1)
    .filter((p) => !p.startsWith('--'))
    .map((p) => {
      const [head, ...rest] = p.replace(/^\r?\n/, '').split(/\r?\n\r?\n/);
      return {
        contentType: /content-type:\s*([^;\r\n]+)/i.exec(head)?.[1] ?? '',
        text: decode(head, rest.join('\n\n').replace(/\r?\n$/, '')),
      };
    });
}

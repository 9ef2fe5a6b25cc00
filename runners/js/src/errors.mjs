// Channel errors: each names the channel (and the writer where there is one), as the Rust channels' do.

export class ChannelError extends Error {
  constructor(message) {
    super(message);
    this.name = "ChannelError";
  }
}

export const vanishedWriter = (channel, writer, reason) =>
  new ChannelError(`channel ${channel}: writer ${writer} vanished without closing (${reason})`);
export const vanishedReader = (channel, writer, reason) =>
  new ChannelError(`channel ${channel}: the reader of writer ${writer} vanished (${reason})`);
export const tooLarge = (channel, size, limit) =>
  new ChannelError(`channel ${channel}: message of ${size} bytes exceeds the limit of ${limit} bytes`);
export const refused = (channel, writer, reason) =>
  new ChannelError(`channel ${channel}: the reader endpoint refused writer ${writer}: ${reason}`);
export const protocolError = (channel, peer, reason) =>
  new ChannelError(`channel ${channel}: protocol error from ${peer}: ${reason}`);

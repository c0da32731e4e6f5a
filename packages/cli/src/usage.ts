import { line } from "./terminal.js";

/** A mistake in the arguments: printed as `mimi: usage: ...`, exit code 2. */
export class UsageError extends Error {
  constructor(readonly usage: string) {
    super(`usage: ${usage}`);
    this.name = "UsageError";
  }
}

export const HELP = line`mimi: end-to-end encrypted messaging over MIMI/ActivityPub

Accounts and devices
  mimi account create <user> --server <url>   create an account (and register this device)
  mimi account login <user> --server <url>    sign in with an existing account
  mimi account use <user@domain>              switch the current account
  mimi account delete                         delete your account (leaves your channels first)
  mimi account password                       change your password (other sessions are logged out;
                                              MIMI_NEW_PASSWORD supplies the new one)
  mimi account sessions                       list the account's sessions (devices logged in)
  mimi logout [--everywhere | --session <id>] log this session out (or every one, or one listed);
                                              the device and its channels stay for the next login
  mimi whoami                                 show the current account
  mimi device add [name]                      register this MIMI_HOME as a device and join your channels
  mimi device list                            list your devices (* marks this one)
  mimi device remove <name>                   take one of your other devices out of every channel and delete it
  mimi keypackages                            show and top up this device's KeyPackages

Channels (<channel> is a channel's name or URL)
  mimi channel create <name>                  create a channel on your provider
  mimi channel add <channel> <user@domain>    add every device of a user (owner and admins)
  mimi channel remove <channel> <user@domain> remove a user (owner and admins)
  mimi channel rename <channel> <name>        rename a channel (owner and admins)
  mimi channel role <channel> <user@domain> admin|member
                                              give a member a role (owner and admins)
  mimi channel rotate <channel>               update your keys in a channel (also done by itself
                                              after a week or 1000 messages)
  mimi channel leave <channel>                leave a channel; its messages stay on this device
  mimi channels                               list your channels (one this device is behind on
                                              is marked OUT OF SYNC, with why)
  mimi members <channel>                      list a channel's members and their roles

Messages
  mimi send <channel> <text>                  send a message
  mimi reply <channel> <message-id> <text>    answer a message
  mimi edit <channel> <message-id> <text>     change the text of one of your messages
  mimi react <channel> <message-id> <reaction>
                                              react to a message (an emoji, say)
  mimi delete <channel> <message-id>          delete one of your messages for everyone
  mimi read <channel>                         show the messages, edits applied, with reactions and
                                              short ids (<message-id>: 4 or more of its hex digits)
  mimi dm <user@domain> [<user@domain>...] "<text>"
                                              send to the conversation of exactly these people and
                                              you (the first message starts it)
  mimi dms                                    list your conversations with their last message
  mimi read @<user@domain>[,<user@domain>...] show a conversation's messages
  mimi join                                   fetch and process new activity (Welcomes, messages);
                                              prints what could not be used and why
  mimi listen                                 follow new activity live
  mimi inbox [--after <cursor>] [--json]      list the raw activities in your mailbox

Blocks and consent
  mimi block <user@domain | domain>           stop a user (or every user of a domain) adding you to
                                              channels or writing to you; they are not told
  mimi unblock <user@domain | domain>         lift a block
  mimi blocks                                 list who and which domains you blocked
  mimi account consent [on|off]               make adds by people who are not yet your contacts wait
                                              for your consent (default off)
  mimi invites                                list who asked to add you while consent was on
  mimi accept <user@domain>                   make them a contact: they may add you from now on
  mimi decline <user@domain>                  drop their invite

Global: --as <user@domain> picks an account; --wait <seconds> (default 10) bounds how long channel
changes wait for the channel's answer; MIMI_HOME (default ~/.mimi) holds state; MIMI_PASSWORD supplies
the password without a prompt; MIMI_DEV_CONNECT_TO maps test domains to local addresses.`;

# Texts of this area; every key here has its twin, with the same placeholders, in the other language.

## Roles in a sentence ("made you an admin of …") and as a word in lists

role-a = { $role ->
    [viewer] a viewer
    [admin] an admin
   *[owner] an owner
}

## /admins: member lists

members-stale = This button is no longer valid; send /admins again.
members-only-owners = Only owners manage members. /whoami shows your roles.
members-which-database = <b>Members</b>: which database?
members-title = <b>Members of { $database }</b>
members-legend = Owners may do everything. Admins act on alerts and run actions; viewers see alerts and views. 🔒: in the configuration file.
members-none = No admins or viewers yet.
members-added-by = added by { $by }
members-from-config = 🔒 config
members-user = user <code>{ $id }</code>
members-not-started = has not pressed Start yet
members-claimed-by = ⚠️ claimed by user <code>{ $id }</code>
members-rebind-button = 🔁 { $username } is user { $id }
members-to-viewer = ⬇ viewer: { $member }
members-to-admin = ⬆ admin: { $member }
members-remove = ✖ remove { $member }
members-add-admin = ➕ Add admin
members-add-viewer = ➕ Add viewer
members-invite-admin = 🔗 Invite admin
members-invite-viewer = 🔗 Invite viewer
members-databases = ◀ Databases
members-rebound = { $username } is user { $id } from now on.
members-not-claimed = User { $id } no longer claims { $username }.

## What a change did (answers a button press: plain text)

member-no-longer = { $member } is no longer a member of { $database }.
member-already = { $member } is already { role-a } of { $database }.
member-now = { $member } is now { role-a } of { $database }.

## Why a change was refused

member-error-unknown-database = no database named "{ $database }"
member-error-forbidden = { $who } may not manage the members of { $database }
member-error-locked = { $member } is a member in the configuration file; change it there
member-error-not-member = { $member } is not a member of { $database } added here
member-error-owner = owners can do everything already; { $member } needs no membership
member-error-bad-role = members are admins or viewers, not { $role }

## Adding people: the pick-a-person keyboard and invite links

members-pick-in-private = Picking a person works in a private chat with me; here, invite them.
members-pick-button = 👤 Choose a person
members-pick = Press <b>👤 Choose a person</b> below to pick who becomes { role-a } of <b>{ $database }</b>.

    They should press Start in a private chat with me: until they do, Telegram does not let me write to them, and their alerts go to the database's fallback email.
members-invite-ask = Send the @username of the person to invite to <b>{ $database }</b> as { $role }. The link will work once, for them only, for { $hours } hours.
members-invite-again = Send the @username of the person to invite, or /admins to start over.
members-invite-replaced = This invite was replaced or cancelled meanwhile; start again from /admins.
members-invite-link = 🔗 Send this link to { $username }. Opened by them, it makes them { role-a } of <b>{ $database }</b>; it works once, until { $until }.

    { $link }
members-joined = ✅ You are now { role-a } of <b>{ $database }</b>.
invite-expired = This invite has expired; ask an owner for a new one.
invite-used = This invite was already used; ask an owner for a new one.
invite-not-yours-no-username = This invite is for someone else. If it is for you, set a Telegram username and open the link again.
invite-not-yours = This invite is for someone else.
invite-unknown = This invite link is not valid; ask an owner for a new one.

## What a member and their database's admins hear of a change

member-welcome = 👋 { $by } made you { role-a } of <b>{ $database }</b>. Its alerts reach you here from now on; those firing now follow. Send /help to see what you can do.
member-added = 👥 { $by } added { $member } as { role-a } of <b>{ $database }</b>.
member-you-now = 👥 { $by } made you { role-a } of <b>{ $database }</b>.
member-made = 👥 { $by } made { $member } { role-a } of <b>{ $database }</b>.
member-you-removed = 👥 { $by } removed you from <b>{ $database }</b>: its alerts no longer reach you.
member-removed = 👥 { $by } removed { $member } from <b>{ $database }</b>.

## The owners' message after a configuration reload

reload-title = 🔄 <b>Configuration reloaded</b> by { $by }
reload-nothing = Nothing changed.
reload-databases = Databases
reload-owners = Owners
reload-api-tokens = API tokens
reload-views = Views
reload-actions = Actions
reload-charts = Charts
reload-members = Members
reload-other = Also changed
reload-changed = changed { $names }
reload-user = user { $id }
reload-dialogue-ended = This conversation about the { $kind } <code>{ $item }</code> on <b>{ $database }</b> has ended: { $why } by a configuration reload.
reload-database-removed = the database { $database } was removed
reload-item-removed = the { $kind } was removed
reload-item-moved = the { $kind } no longer runs on { $database }

## Lists: firing alerts, the incident history, active silences

alerts-none = ✅ Nothing is firing in your databases.
alerts-title = <b>Firing now</b>
alerts-more = … and more: see /incidents
incidents-title = <b>Incidents of { $database }</b>
incidents-title-all = <b>Incidents of all databases</b>
incidents-none = None.
incidents-newest = ⏮ Newest
incidents-older = ◀ Older
incidents-not-member = You are not a member of a database named "{ $database }".
incidents-name-one = Name one of your databases: /incidents { $names }
silences-none = No silence created here is active.
silences-title = <b>Active silences</b>
silences-by = 🔕 by { $by } until { $until }
silences-expire = 🔔 Expire #{ $id }

## To the owners: a username a member was added by now belongs to another account

username-taken = ⚠️ Telegram account <code>{ $account }</code> now carries @{ $username }, which belongs to user <code>{ $owner }</code>. I treat it as a stranger. If that person moved to the new account, bind @{ $username } to it from /admins.

## /tokens: API tokens

tokens-owners-only = API tokens are managed by owners.
tokens-not-allowed = Not allowed: API tokens are managed by owners.
tokens-every-database = every database
tokens-private-only = A new token is shown only in a private chat: send me <code>/tokens NAME</code> there.
tokens-role-viewer = 👁 viewer
tokens-role-admin = 🛠 admin
tokens-role-owner = 👑 owner
tokens-which-role = New API token <b>{ $name }</b>: which role?

    <b>viewer</b> reads incidents and views; <b>admin</b> also acts on alerts and runs actions; <b>owner</b> may do everything, members and the audit log included.
tokens-bad-name = Token names are 1 to 24 characters: lowercase letters, digits, <code>-</code> and <code>_</code>. For example: <code>/tokens grafana</code>
tokens-name-in-config = <b>{ $name }</b> is a token of the configuration file; choose another name.
tokens-name-exists = A token named <b>{ $name }</b> exists already (revoked tokens keep their names); choose another name.
tokens-line = <b>{ $name }</b> · { $role } · { $scope } · by { $by } on { $date }
tokens-revoked-on = revoked on { $date }
tokens-title = <b>API tokens</b>
tokens-none = None yet.
tokens-more = … and { $count } more
tokens-footer = 🔒 tokens come from the configuration file. Send <code>/tokens NAME</code> to create one (in a private chat).
tokens-revoke = Revoke { $name }
tokens-stale = This button is no longer valid.
tokens-create-in-private = Tokens are created only in a private chat.
tokens-all-databases = 🌐 All databases
tokens-which-scope = New API token <b>{ $name }</b> as <b>{ $role }</b>: on which databases?
tokens-name-taken = That name is taken now.
tokens-name-taken-long = A token named <b>{ $name }</b> exists already; send <code>/tokens NAME</code> with another name.
tokens-created-answer = Created: copy the token now.
tokens-shown = 🔑 New API token { $what }

    <code>{ $token }</code>

    Send it as <code>Authorization: Bearer …</code>. This is the only time it is shown — the service keeps only its SHA-256 — so copy it now, then delete this message.
tokens-hide = 🙈 I saved it — delete this message
tokens-created = ✅ Created the API token { $what }: it is shown once below.
tokens-no-such = There is no such token.
tokens-revoked = Revoked { $name }: it no longer opens the API.
tokens-revoked-already = { $name } was revoked already.
tokens-deleted = Deleted.
tokens-hidden-text = 🙈 The token that was here is hidden.
tokens-hidden = Hidden.
tokens-delete-yourself = Telegram refused: please delete the message yourself.

/* graph_mail.h: mailboxes: /users/{id}/mailFolders, .../messages, /messages/{id}, per-folder
 * delta with $skiptoken/$deltatoken, default and immutable ids; and the mail changes the control
 * API drives (delivery, move, delete), each recorded in g_change and notified. */
#ifndef GRAPH_MAIL_H
#define GRAPH_MAIL_H

#include "graph_sim.h"

/* rest is the path after "/users/{id}": "/mailFolders...", "/messages...". */
void graph_mail_call(struct graph_sim *sim, struct graph_req *req, const struct graph_user *user,
    const char *rest, struct graph_reply *reply);

/* Creates the well-known folders of a new mailbox (idempotent). */
int graph_mail_ensure_folders(struct graph_sim *sim, const char *user_id);

/* POST /_sim/mail: {"from","to":[],"cc":[],"bcc":[],"subject","body","bodyType"?,"headers":{},
 * "date"?, "internetMessageId"?, "conversationId"?, "isDraft"?}. Addresses are strings
 * ("a@x.com" or "Name <a@x.com>") or recipient objects. Every tenant recipient gets a copy in its
 * Inbox, a tenant sender a copy in Sent Items; all copies share one internetMessageId.
 * *result: {"internetMessageId":..,"copies":[{"user":upn,"folder":"inbox","id":rest_id,
 * "immutableId":..}]} (caller owns). -1 with err. */
int graph_mail_deliver(struct graph_sim *sim, json_t *spec, json_t **result, char *err,
    size_t errlen);
/* Moves a message (by rest or immutable id) of user (id or upn) to a folder (well-known name or
 * id): a new rest id, the same immutable id. *result: the moved message's ids. */
int graph_mail_move(struct graph_sim *sim, const char *user, const char *id, const char *folder,
    json_t **result, char *err, size_t errlen);
/* Deletes a message for good (it leaves its folder's delta as @removed). */
int graph_mail_delete(struct graph_sim *sim, const char *user, const char *id, char *err,
    size_t errlen);
/* Expires one delta/skip token, or every one when token is NULL (410 SyncStateNotFound next). */
int graph_mail_expire_delta(struct graph_sim *sim, const char *token);

#endif

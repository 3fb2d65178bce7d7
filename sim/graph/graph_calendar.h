/* graph_calendar.h: calendars: /users/{id}/events/{id}, /users/{id}/calendarView and
 * /calendarView/delta over a window, recurring series expanded into instances, time zones
 * (Prefer: outlook.timezone); and the meeting changes the control API drives. */
#ifndef GRAPH_CALENDAR_H
#define GRAPH_CALENDAR_H

#include "graph_sim.h"

/* rest is the path after "/users/{id}": "/events...", "/calendarView...", "/calendar/...". */
void graph_calendar_call(struct graph_sim *sim, struct graph_req *req,
    const struct graph_user *user, const char *rest, struct graph_reply *reply);

/* POST /_sim/events: {"organizer","attendees":[{"address","type"?}],"subject","body"?,
 * "start":{"dateTime","timeZone"},"end":{...},"isAllDay"?,"location"?,"recurrence"?}: the
 * meeting in every tenant attendee's (and the organizer's) calendar, one iCalUId per occurrence.
 * *result: {"uid":..,"iCalUId":..,"copies":[{"user":upn,"id":..}]}. -1 with err. */
int graph_calendar_create(struct graph_sim *sim, json_t *spec, json_t **result, char *err,
    size_t errlen);
/* POST /_sim/events/{uid}/respond {"user","response":"accepted|tentativelyAccepted|declined",
 * "occurrence"?}: the attendee's responseStatus and the organizer's view of attendees. */
int graph_calendar_respond(struct graph_sim *sim, const char *uid, json_t *spec,
    json_t **result, char *err, size_t errlen);
/* PATCH /_sim/events/{uid} {"start"?,"end"?,"subject"?,"location"?,"isCancelled"?,
 * "occurrence"?}: reschedule or cancel, in every copy. One occurrence changed becomes an
 * exception and keeps its iCalUId and originalStart. */
int graph_calendar_update(struct graph_sim *sim, const char *uid, json_t *spec,
    json_t **result, char *err, size_t errlen);

/* What graph_calendar_delete found: done, refused (a 400), nothing there to delete (a 404). */
enum graph_cal_rc {
	GRAPH_CAL_OK = 0,
	GRAPH_CAL_REFUSED = -1,
	GRAPH_CAL_NOT_FOUND = -2,
};

/* DELETE /_sim/events/{uid}?user=..[&occurrence=..]: who (id, UPN or mail) deletes the meeting, or
 * the one occurrence (as PATCH takes it; NULL for all), from their calendar as in Outlook. An
 * attendee's copy goes from their calendar only: delta rounds report it @removed to them and
 * their subscriptions hear "deleted" (an occurrence: "updated" on the series master); no response
 * is sent. The organizer's deletion cancels the meeting for everyone (graph_calendar_update with
 * isCancelled), as Exchange sends attendees a cancellation. *result: {"uid","removed":N} and,
 * for the organizer, "cancelled":M (attendees' copies). GRAPH_CAL_NOT_FOUND with err when there
 * is no such meeting, user, or copy of it (or of the occurrence) in the user's calendar;
 * GRAPH_CAL_REFUSED with err when occurrence is malformed or the store refuses. */
enum graph_cal_rc graph_calendar_delete(struct graph_sim *sim, const char *uid, const char *who,
    const char *occ, json_t **result, char *err, size_t errlen);

#endif

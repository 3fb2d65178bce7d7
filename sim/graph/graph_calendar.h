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
 * "occurrence"?}: reschedule or cancel, in every copy. */
int graph_calendar_update(struct graph_sim *sim, const char *uid, json_t *spec,
    json_t **result, char *err, size_t errlen);

#endif

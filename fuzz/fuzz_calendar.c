/* fuzz_calendar.c: a Graph event (JSON, as a calendarView delta page carries it) through the
 * calendar path: calendar_key, calendar_time on start and end (as written and as all-day), and
 * calendar_attending under both meeting_match policies. */
#include <jansson.h>

#include "calendar.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char key[NORMALIZE_DIGEST_LEN + 1];
	struct config cfg;
	json_t *ev;
	int64_t utc;
	int all_day;

	if ((ev = json_loadb((const char *)data, size, 0, NULL)) == NULL)
		return 0;
	(void)calendar_key(ev, key);
	all_day = json_is_true(json_object_get(ev, "isAllDay"));
	(void)calendar_time(json_object_get(ev, "start"), all_day, "Europe/Berlin", &utc);
	(void)calendar_time(json_object_get(ev, "end"), !all_day, "America/New_York", &utc);
	memset(&cfg, 0, sizeof(cfg));
	(void)calendar_attending(&cfg, ev);
	cfg.meeting_tentative = 1;
	cfg.meeting_match = CONFIG_MEETING_MATCH_ANY_EXTERNAL;
	(void)calendar_attending(&cfg, ev);
	json_decref(ev);
	return 0;
}

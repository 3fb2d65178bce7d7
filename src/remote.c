/* remote.c: the names of the failure classes of remote.h, as logs and the ledger print them. */
#include "remote.h"

const char *
remote_class_name(enum remote_class cls)
{
	switch (cls) {
	case REMOTE_OK:
		return "ok";
	case REMOTE_TEMP:
		return "temp";
	case REMOTE_WAIT:
		return "wait";
	case REMOTE_AUTH:
		return "auth";
	case REMOTE_FINAL:
		return "final";
	}
	return "unknown";
}

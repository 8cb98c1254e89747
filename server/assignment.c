/* The assignment state machine (assignment.h). Success is believed only
 * when a check-in reports the new version after the device said it
 * committed, or at any point the device already runs it: a device that
 * silently fell back is a rollback, not a success. */
#include "assignment.h"

#include <string.h>

bool assignment_is_final(enum store_assign_state st)
{
    return st == STORE_ASSIGN_SUCCEEDED || st == STORE_ASSIGN_FAILED ||
           st == STORE_ASSIGN_ROLLED_BACK || st == STORE_ASSIGN_CANCELLED;
}

/* Order of the progress states; -1 for the others. */
static int stage(enum store_assign_state st)
{
    switch (st) {
    case STORE_ASSIGN_PENDING:
        return 0;
    case STORE_ASSIGN_NOTIFIED:
        return 1;
    case STORE_ASSIGN_DOWNLOADING:
        return 2;
    case STORE_ASSIGN_INSTALLING:
        return 3;
    case STORE_ASSIGN_REBOOTING:
        return 4;
    case STORE_ASSIGN_COMMITTED:
        return 5;
    default:
        return -1;
    }
}

bool assignment_device_may_report(enum store_assign_state from, enum store_assign_state to)
{
    if (assignment_is_final(from))
        return false;
    if (to == STORE_ASSIGN_ROLLED_BACK)
        return true;
    if (from == STORE_ASSIGN_COMMITTED)
        return false; /* only the next check-in moves it on */
    if (to == STORE_ASSIGN_FAILED)
        return true;
    int a = stage(from), b = stage(to);
    return b >= 2 && b >= a;
}

uint32_t assignment_progress(enum store_assign_state to, uint32_t reported, uint32_t current)
{
    if (to == STORE_ASSIGN_DOWNLOADING)
        return reported;
    return stage(to) > 2 || to == STORE_ASSIGN_SUCCEEDED ? 100 : current;
}

enum store_assign_state assignment_on_checkin(enum store_assign_state from,
                                              const char *installed_version,
                                              const char *release_version)
{
    if (assignment_is_final(from))
        return from;
    if (strcmp(installed_version, release_version) == 0)
        return STORE_ASSIGN_SUCCEEDED;
    if (from == STORE_ASSIGN_COMMITTED)
        return STORE_ASSIGN_ROLLED_BACK;
    return from;
}

/*
 * Compile-time checks of the ABI layout. The records below are frozen for ABI
 * major 1: if a change moves a field, this file stops compiling.
 */
#include <stddef.h>
#include "arbiter_strategy.h"

_Static_assert(sizeof(arbiter_update_record) == 32, "arbiter_update_record is frozen at 32 bytes");
_Static_assert(offsetof(arbiter_update_record, reward) == 8, "arbiter_update_record.reward moved");
_Static_assert(offsetof(arbiter_update_record, weight) == 16, "arbiter_update_record.weight moved");
_Static_assert(offsetof(arbiter_update_record, context) == 24, "arbiter_update_record.context moved");
_Static_assert(offsetof(arbiter_select_request, eligible_arms) == 8, "arbiter_select_request.eligible_arms moved");
_Static_assert(offsetof(arbiter_select_request, seed) == 32, "arbiter_select_request.seed moved");
_Static_assert(offsetof(arbiter_selection, propensity) == 8, "arbiter_selection.propensity moved");
_Static_assert(offsetof(arbiter_strategy_vtable, toolchain) == 16, "arbiter_strategy_vtable.toolchain moved");
_Static_assert(offsetof(arbiter_strategy_vtable, describe) == 32, "arbiter_strategy_vtable.describe moved");
_Static_assert(offsetof(arbiter_host_api, log) == 16, "arbiter_host_api.log moved");
_Static_assert(ARBITER_VTABLE_SIZE_1_0 == 120, "ABI 1.0's vtable ends at inspect, 120 bytes");
_Static_assert(offsetof(arbiter_strategy_vtable, probabilities) == 120, "arbiter_strategy_vtable.probabilities (1.1) moved");

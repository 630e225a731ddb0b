/* SPDX-License-Identifier: MIT */
/* libFuzzer target: state_from_json, the state file loader. A state it
 * accepts must save (state_to_json) and load again to the same text: what
 * the plugin writes after a start it must read after the next one. */
#include "fuzz.h"
#include "store/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct rec_state st, again;
  struct err err;
  rec_state_init(&st);
  rec_state_init(&again);
  int rc = state_from_json((const char *)data, size, FUZZ_DEPTH, &st, &err);
  if (rc != 0) {
    FUZZ_STR(err.msg);
    fuzz_assert(st.n_keys == 0 && st.n_cursors == 0);
    rec_state_fini(&st);
    return 0;
  }
  struct buf one, two;
  buf_init(&one, STATE_FILE_MAX);
  buf_init(&two, STATE_FILE_MAX);
  fuzz_assert(state_to_json(&st, &one) == 0);
  fuzz_assert(state_from_json(one.data, one.len, FUZZ_DEPTH, &again, &err) ==
              0);
  fuzz_assert(state_to_json(&again, &two) == 0);
  fuzz_assert(one.len == two.len && memcmp(one.data, two.data, one.len) == 0);
  fuzz_assert(again.n_keys == st.n_keys && again.n_cursors == st.n_cursors);
  buf_fini(&one);
  buf_fini(&two);
  rec_state_fini(&st);
  rec_state_fini(&again);
  return 0;
}

// The CAF type-ID block of adclick: every type and atom that travels in a CAF message.
// Load it with CAF_MAIN(caf::id_block::adclick, ...) or cfg.add_message_types<...>().
#pragma once

#include <caf/type_id.hpp>

#include "messages/types.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(adclick, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(adclick, (adclick::click))
  CAF_ADD_TYPE_ID(adclick, (adclick::ingest_batch))
  CAF_ADD_TYPE_ID(adclick, (adclick::ad_clicks))
  CAF_ADD_TYPE_ID(adclick, (adclick::ad_delta))
  CAF_ADD_TYPE_ID(adclick, (adclick::checkpoint))
  CAF_ADD_TYPE_ID(adclick, (adclick::checkpoint_result))
  CAF_ADD_TYPE_ID(adclick, (adclick::series_query))
  CAF_ADD_TYPE_ID(adclick, (adclick::series))
  CAF_ADD_TYPE_ID(adclick, (adclick::top_query))
  CAF_ADD_TYPE_ID(adclick, (adclick::top_list))
  CAF_ADD_TYPE_ID(adclick, (adclick::live_update))
  CAF_ADD_TYPE_ID(adclick, (adclick::live_touches))
  CAF_ADD_TYPE_ID(adclick, (adclick::partition_status))
  CAF_ADD_TYPE_ID(adclick, (adclick::ad_status))
  CAF_ADD_TYPE_ID(adclick, (std::vector<adclick::partition_status>))
  CAF_ADD_TYPE_ID(adclick, (adclick::hot_ad))
  CAF_ADD_TYPE_ID(adclick, (std::vector<adclick::hot_ad>))
  CAF_ADD_TYPE_ID(adclick, (adclick::checkpoint_report))
  CAF_ADD_TYPE_ID(adclick, (std::vector<adclick::checkpoint_report>))
  CAF_ADD_TYPE_ID(adclick, (adclick::passivate_report))

  CAF_ADD_ATOM(adclick, adclick, flush_atom, "flush")
  CAF_ADD_ATOM(adclick, adclick, tick_atom, "tick")
  CAF_ADD_ATOM(adclick, adclick, status_atom, "status")
  CAF_ADD_ATOM(adclick, adclick, checkpoint_atom, "checkpoint")
  CAF_ADD_ATOM(adclick, adclick, finalize_atom, "finalize")
  CAF_ADD_ATOM(adclick, adclick, inspect_atom, "inspect")
  CAF_ADD_ATOM(adclick, adclick, rebase_atom, "rebase")
  CAF_ADD_ATOM(adclick, adclick, live_atom, "live")
  CAF_ADD_ATOM(adclick, adclick, recover_atom, "recover")
  CAF_ADD_ATOM(adclick, adclick, hot_atom, "hot")
  CAF_ADD_ATOM(adclick, adclick, sync_atom, "sync")
  CAF_ADD_ATOM(adclick, adclick, passivate_atom, "passivate")
  CAF_ADD_ATOM(adclick, adclick, compact_atom, "compact")

CAF_END_TYPE_ID_BLOCK(adclick)

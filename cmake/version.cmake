# Writes host/version.h at build time (cmake -P), so the commit that --version, summary.json,
# checkpoints and shard files record is the one built, not the one last configured.
# configure_file leaves the file alone when nothing changed, so this rebuilds nothing then.
# In: SOURCE_DIR, INPUT, OUTPUT, PROJECT_VERSION.
execute_process(COMMAND git describe --always --dirty --abbrev=12
  WORKING_DIRECTORY ${SOURCE_DIR} OUTPUT_VARIABLE CAPRISK_GIT_COMMIT
  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT CAPRISK_GIT_COMMIT)
  set(CAPRISK_GIT_COMMIT "unknown")
endif()
configure_file(${INPUT} ${OUTPUT} @ONLY)

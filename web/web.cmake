# The monitor page (web/): its files become the static library wmweb (web.h: web_find)
# through a C source that web/embed.cmake generates at build time, so editing a page
# file rebuilds it. Included from the top CMakeLists.txt after the unit tests.
file(GLOB WEB_FILES CONFIGURE_DEPENDS RELATIVE ${CMAKE_SOURCE_DIR}/web
     ${CMAKE_SOURCE_DIR}/web/*.html ${CMAKE_SOURCE_DIR}/web/*.css ${CMAKE_SOURCE_DIR}/web/*.js)
set(WEB_DEPS "")
foreach(f ${WEB_FILES})
  list(APPEND WEB_DEPS ${CMAKE_SOURCE_DIR}/web/${f})
endforeach()
# The list goes to the script with "|" for ";" (a ";" would split the argument).
string(REPLACE ";" "|" WEB_FILES_ARG "${WEB_FILES}")
add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/web_files.c
  COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_SOURCE_DIR}/web -DOUT=${CMAKE_BINARY_DIR}/web_files.c
          "-DFILES=${WEB_FILES_ARG}" -P ${CMAKE_SOURCE_DIR}/web/embed.cmake
  DEPENDS ${WEB_DEPS} ${CMAKE_SOURCE_DIR}/web/embed.cmake
  COMMENT "Embedding the monitor page (web/)"
  VERBATIM)
add_library(wmweb STATIC ${CMAKE_BINARY_DIR}/web_files.c)
target_include_directories(wmweb PUBLIC ${CMAKE_SOURCE_DIR}/web)

# The daemon serves the page at GET /; the client's `report` writes it.
target_link_libraries(wmdaemon PUBLIC wmweb)
target_link_libraries(wmclient PUBLIC wmweb)

if(TARGET test_web_files)
  target_link_libraries(test_web_files PRIVATE wmweb)
endif()

# The monitor page in a real browser (tests/browser/run.sh): Debian's chromium through
# playwright-core (from the npm registry, into tests/browser/node_modules) against the
# daemon built here; screenshots and the printed PDF go to browser-artifacts/.
add_test(NAME browser.monitor COMMAND ${CMAKE_SOURCE_DIR}/tests/browser/run.sh)
set_tests_properties(browser.monitor PROPERTIES
  ENVIRONMENT "WM_BUILD_DIR=${CMAKE_BINARY_DIR};WM_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
  TIMEOUT 900)

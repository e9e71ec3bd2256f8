# What both builds of tailbox's targets share, the main one and the Windows cross build
# (cmake/windows): warnings for our own code, and one way to add a libcommon library and a tool.
include(GNUInstallDirs)
get_filename_component(TB_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)

# Warnings for our own code only (third-party headers are system includes).
add_library(tb_warnings INTERFACE)
target_compile_options(tb_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Wunused
  -Woverloaded-virtual -Wimplicit-fallthrough -Wformat=2)
if(TB_WERROR)
  target_compile_options(tb_warnings INTERFACE -Werror)
endif()

# Four static libraries, one per folder. Include root is the repository root: #include "libcommon/core/error.hpp".
function(tb_add_library name)
  add_library(${name} STATIC ${ARGN})
  target_include_directories(${name} PUBLIC ${TB_ROOT})
  target_link_libraries(${name} PRIVATE tb_warnings)
endfunction()

# One executable per tool, linking only the libcommon areas it needs.
function(tb_add_tool name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE tb_warnings CLI11::CLI11 ${T_LIBS})
  install(TARGETS ${name} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endfunction()

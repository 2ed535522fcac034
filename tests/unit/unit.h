/*
 * unit.h - one CUnit suite per test program; ctest runs each program.
 * UNIT_MAIN(name, tests) gives main(): runs the suite verbosely and exits
 * non-zero when anything failed.
 */
#ifndef MEESHY_UNIT_H
#define MEESHY_UNIT_H

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#define UNIT_MAIN(name, tests, setup, teardown)                                \
	int main(void)                                                         \
	{                                                                      \
		CU_SuiteInfo suites[] = {                                      \
			{name, setup, teardown, NULL, NULL, tests},            \
			CU_SUITE_INFO_NULL};                                   \
		unsigned failed;                                               \
		if (CU_initialize_registry() != CUE_SUCCESS)                   \
			return 2;                                              \
		if (CU_register_suites(suites) != CUE_SUCCESS)                 \
			return 2;                                              \
		CU_basic_set_mode(CU_BRM_VERBOSE);                             \
		CU_basic_run_tests();                                          \
		failed = CU_get_number_of_failures() +                         \
			 CU_get_number_of_suites_failed();                     \
		CU_cleanup_registry();                                         \
		return failed ? 1 : 0;                                         \
	}

#endif

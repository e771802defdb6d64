# A second, tiny nbgrader course: it proves the engine grades any assignment described as data.
c = get_config()  # noqa: F821 (injected by nbgrader)
c.CourseDirectory.course_id = "tiny-course"

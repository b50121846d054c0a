"""nbgrader's configuration for the memlab coursework (run nbgrader from
this directory, or let ``make release`` / ``make autograde-demo`` do it)."""

import os

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "memlab"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
# the outputs of a run must not reach the released notebooks
c.ClearOutput.remove_metadata_fields = ["collapsed", "scrolled"]

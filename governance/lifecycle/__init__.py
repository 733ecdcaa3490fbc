"""The one path of a generation request, called alike by the CLI, the API and the pages.

    submit -> decide -> approve | reject -> enqueue -> claim -> sign -> views

- ``params``: what a generation may ask for, its limits defined once (the API schema, the
  jobs and the generator all read them here);
- ``governance.jobs.statuses`` (beside the job tables): the words a request and a job stand at;
- ``views``: frozen values the callers render (``RequestView``, ``JobView``, ``OutputView``;
  the decision is ``governance.policy.requests.DecisionView``), each owning its ``to_dict``;
- ``requests``: submit (decide, record, create the job, enqueue it after commit), approve or
  reject, list and read requests as the caller may see them;
- ``claims``: a worker claims a job under a lease, reads its specification, fails it;
- ``signing``: the credential's content for a job, and signing its image into the ledger;
- ``dispatch``: the queue a created job goes to, after its transaction commits.

This module imports nothing, so the generator can read ``params`` without the database.
"""

-- One database per service: no service reads another's tables.
CREATE DATABASE deskflow_customer;
CREATE DATABASE deskflow_ticket;
CREATE DATABASE deskflow_notification;
CREATE DATABASE deskflow_reporting;
CREATE DATABASE deskflow_workflow;
CREATE DATABASE deskflow_gateway;
